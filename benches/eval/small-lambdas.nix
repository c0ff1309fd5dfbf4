# Many small lambdas: composition, currying and pattern arguments.
let
  compose = f: g: x: f (g x);
  inc = x: x + 1;
  double = x: x * 2;
  pick = { a, b ? 0, ... }: a + b;
  step = i: compose inc double (pick { a = i; b = 1; });
in builtins.foldl' (acc: i: acc + step i + (x: y: x - y) i 1) 0 (builtins.genList (i: i) 100000)
