# Recursive merge of 20 layers of 2,000 keys, each with a nested set.
let
  merge = a: b: a // builtins.mapAttrs (name: value:
    if builtins.isAttrs value && a ? ${name} && builtins.isAttrs a.${name}
    then merge a.${name} value else value) b;
  layer = l: builtins.listToAttrs (builtins.genList (i: {
    name = "key${toString (i + l * 50)}";
    value = { layer = l; index = i; "from${toString l}" = true; };
  }) 2000);
  merged = builtins.foldl' merge { } (builtins.genList layer 20);
in builtins.length (builtins.attrNames merged) + builtins.length (builtins.attrNames merged.key1000)
