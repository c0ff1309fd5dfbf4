# Building text: interpolation, replaceStrings, substring and a growing string.
let
  line = i: "host ${toString i}: ${builtins.replaceStrings [ "-" ] [ "_" ] "a-b-c-${toString i}"}\n";
  text = builtins.concatStringsSep "" (builtins.genList line 20000);
  grown = builtins.foldl' (s: i: s + builtins.substring 0 1 (toString i)) "" (builtins.genList (i: i) 5000);
in [ (builtins.stringLength text) (builtins.stringLength grown) (builtins.hashString "sha256" text) ]
