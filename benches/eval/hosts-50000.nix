# 50,000 hosts whose names and addresses are built by string interpolation.
let
  host = i: {
    name = "worker${toString i}";
    address = "10.${toString (i / 65536)}.${toString (i / 256 - (i / 65536) * 256)}.${toString (i - (i / 256) * 256)}";
    labels = { pool = "pool${toString (i / 100)}"; zone = "zone-${toString (i - (i / 3) * 3)}"; };
  };
in builtins.genList host 50000
