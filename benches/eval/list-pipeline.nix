# genList, filter, map and foldl' over 200,000 integers.
let
  xs = builtins.genList (i: i) 200000;
  evens = builtins.filter (x: x - (x / 2) * 2 == 0) xs;
  squares = map (x: x * x) evens;
in builtins.foldl' (acc: x: acc + x) 0 squares
