# sort and listToAttrs over 100,000 elements.
let
  xs = builtins.genList (i: (i * 7919) - ((i * 7919) / 100003) * 100003) 100000;
  sorted = builtins.sort (a: b: a < b) xs;
  attrs = builtins.listToAttrs (map (x: { name = "k${toString x}"; value = x; }) sorted);
in [ (builtins.head sorted) (builtins.length (builtins.attrNames attrs)) attrs.k5 ]
