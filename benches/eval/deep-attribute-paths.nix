# 20,000 lookups of paths seven attributes deep, and sets made from nested paths.
let
  tree = builtins.listToAttrs (builtins.genList (i: {
    name = "n${toString i}";
    value = { a.b.c.d.e.f = i; a.b.x = i * 2; };
  }) 1000);
  get = i: tree."n${toString (i - (i / 1000) * 1000)}".a.b.c.d.e.f + tree.n7.a.b.x;
in builtins.foldl' (acc: i: acc + get i) 0 (builtins.genList (i: i) 20000)
