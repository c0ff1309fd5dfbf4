# concatStringsSep over 100,000 strings.
builtins.stringLength (builtins.concatStringsSep ","
  (builtins.genList (i: "item-${toString i}") 100000))
