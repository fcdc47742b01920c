# The portable-service rules of nix/rules.json, for Nix: the data itself,
# and the squashfs setting checks (squash-compression, squash-block-size)
# that the builder makes (Sources/SquashFS/Compression/CompressorParsing.swift
# and the compressors' option files), read from the same data. Each check
# returns null when the value is fine, else the problem in the builder's
# words. Builtins only.
let
  inherit (builtins)
    all
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    fromJSON
    genList
    head
    isInt
    isString
    length
    listToAttrs
    match
    readFile
    split
    stringLength
    tail
    toString
    ;

  rules = fromJSON (readFile ./rules.json);
  squashfs = rules.squashfs;
  names = builtins.attrNames squashfs.compressors;
  # In the builder's order.
  compressorNames = filter (n: elem n names) [
    "gzip"
    "xz"
    "zstd"
    "lz4"
    "lzo"
  ];
  namesText = concatStringsSep ", " compressorNames;

  # ASCII digits, any count (leading zeros allowed), as a number; null when
  # not digits; `big` when over 2^31 - 1.
  big = 2147483648;
  digits =
    s:
    let
      m = match "0*([0-9]+)" s;
    in
    if m == null then
      null
    else if stringLength (head m) > 10 then
      big
    else
      let
        n = fromJSON (head m);
      in
      if n > 2147483647 then big else n;

  powersOfTwo = genList (i: foldl' (a: _: a * 2) 1 (genList (x: x) i)) 31;
  isPowerOfTwo = n: elem n powersOfTwo;

  sizeAccepted = "accepted: a power of two from ${toString squashfs.blockSize.min} to ${toString squashfs.blockSize.max} bytes, written as bytes (131072), NK (128K) or NM (1M)";

  # The block size in bytes, or { problem }.
  blockSize =
    value:
    let
      s = if isInt value then toString value else value;
      m = match "([^kKmM]*)([kKmM]?)" s;
      unit = elemAt m 1;
      n = digits (head m);
      scale =
        if unit == "" then
          1
        else if elem unit [ "k" "K" ] then
          1024
        else
          1048576;
      size = n * scale;
    in
    if !(isString s) then
      { problem = "expected a size such as \"1M\" or 131072"; }
    else if m == null || n == null then
      { problem = "not a size; ${sizeAccepted}"; }
    else if n == big then
      { problem = "out of range; ${sizeAccepted}"; }
    else if size < squashfs.blockSize.min || size > squashfs.blockSize.max then
      { problem = "${toString size} bytes is out of range; ${sizeAccepted}"; }
    else if !isPowerOfTwo size then
      { problem = "${toString size} bytes is not a power of two; ${sizeAccepted}"; }
    else
      { inherit size; };

  # How the accepted forms list an option (as the builder lists them).
  formOf = o: o.form;

  # xz -Xdict-size TEXT against the block size: null or the problem.
  # mksquashfs's reading (a percentage of the block size, fractions
  # allowed, or bytes with an optional K/M), then the one rule
  # (XzCompressor.isAcceptedDictionarySize): the block size itself always,
  # else `minimum` up to the block size, 2^n or 2^n + 2^(n-1).
  dictionaryProblem =
    minimum: text: block:
    let
      m = match "([0-9]*)(\\.([0-9]*))?([kKmM%]?)" text;
      whole = elemAt m 0;
      fraction = elemAt m 2;
      unit = elemAt m 3;
      accepted = "accepted: bytes (65536), NK (64K), NM (1M) or N% of the block size (50%, 37.5%)";
      range =
        if block <= minimum then
          "with ${toString block}-byte blocks the dictionary can only be the block size: write -Xdict-size 100% or leave -Xdict-size out"
        else
          "it must be ${toString minimum} bytes up to the block size (${toString block} bytes), e.g. -Xdict-size 100%";
      # A percentage, exactly as a float of the block size (fractions in
      # hundredths at most matter for sizes a header can store).
      percent = fromJSON (
        (if whole == "" then "0" else digitsText whole)
        + (if fraction == null || fraction == "" then "" else "." + fraction)
      );
      digitsText = w: head (match "0*([0-9]+)" w);
      bytes =
        (digits whole)
        * (
          if elem unit [ "k" "K" ] then
            1024
          else if elem unit [ "m" "M" ] then
            1048576
          else
            1
        );
      size = if unit == "%" then builtins.floor (block * percent / 100.0) else bytes;
      storable =
        s:
        let
          p = filter (x: x <= s) powersOfTwo;
          top = elemAt p (length p - 1);
        in
        s == top || s == top + top / 2;
    in
    if m == null || text == "" || text == "." || (whole == "" && (fraction == null || fraction == "")) then
      "-Xdict-size ${text} is not a size; ${accepted}"
    else if unit == "%" && (percent <= 0 || percent > 100) then
      "-Xdict-size ${text}: the percentage must be above 0 and at most 100; ${accepted}"
    else if unit != "%" && fraction != null && match "0*" fraction == null then
      "-Xdict-size ${text}: only a percentage of the block size may be fractional; ${accepted}"
    else if unit != "%" && whole == "" then
      "-Xdict-size ${text} is not a size; ${accepted}"
    else if unit != "%" && (digits whole == big || size > block) then
      "-Xdict-size ${text} is larger than the block size (${toString block} bytes); ${range}"
    else if size == block then
      null
    else if size < minimum then
      "-Xdict-size ${text} (${toString size} bytes) is below the minimum of ${toString minimum} bytes; ${range}"
    else if !storable size then
      "-Xdict-size ${text} (${toString size} bytes) cannot be stored in the xz header; it must be 2^n or 2^n+2^(n-1) bytes, e.g. 8K, 12K, 16K, 24K, 32K, or 25%, 37.5%, 50%, 75%, 100% of the block size"
    else
      null;

  # One option's value: null or the problem.
  valueProblem =
    o: value: block:
    if o ? integer then
      let
        n = digits value;
        lo = head o.integer;
        hi = elemAt o.integer 1;
        accepted = "accepted: ${o.name} N with N from ${toString lo} to ${toString hi}";
      in
      if match "[0-9]+" value == null then
        "${o.name} ${value} is not a whole number; ${accepted}"
      else if n < lo || n > hi then
        "${o.name} ${value} is out of range; ${accepted}"
      else
        null
    else if o ? choice then
      if elem value o.choice then
        null
      else
        "unknown ${if o.name == "-Xalgorithm" then "algorithm" else "value"} \"${value}\" in ${o.name}; accepted: ${concatStringsSep ", " o.choice}"
    else if o ? list then
      let
        parts = filter isString (split "," value);
        items = if length parts > 1 && elemAt parts (length parts - 1) == "" then genList (i: elemAt parts i) (length parts - 1) else parts;
        item = if o.name == "-Xbcj" then "filter" else "strategy";
        unknown = filter (x: !(elem x o.list)) items;
      in
      if elem "" items then
        "${o.name} ${value} has an empty item; give names separated by single commas"
      else if unknown != [ ] then
        "unknown ${item} \"${head unknown}\" in ${o.name}; accepted: ${concatStringsSep ", " o.list} (comma-separated)"
      else
        null
    else
      dictionaryProblem o.dictionarySize value block;

  # The options after the compressor name: null or the problem.
  optionsProblem =
    compressor: options: words: block:
    let
      forms = concatStringsSep ", " (map formOf options);
      go =
        ws: given:
        if ws == [ ] then
          onlyWithProblem given
        else
          let
            w = head ws;
            found = filter (o: o.name == w) options;
            o = head found;
            rest = tail ws;
          in
          if match "-.*" w == null then
            "unexpected \"${w}\" (not an option and no option takes it as a value); accepted for ${compressor}: ${forms}"
          else if found == [ ] then
            "unknown option ${w} for ${compressor}; accepted: ${forms}"
          else if o ? flag then
            go rest given
          else if rest == [ ] then
            "${w} needs a value; accepted: ${formOf o}"
          else
            let
              p = valueProblem o (head rest) block;
            in
            if p != null then p else go (tail rest) (given // { ${w} = head rest; });
      # lzo: a level needs lzo1x_999 (the default algorithm).
      onlyWithProblem =
        given:
        let
          bad = filter (
            o: o ? onlyWith && given ? ${o.name} && (given.${head o.onlyWith} or (elemAt o.onlyWith 1)) != elemAt o.onlyWith 1
          ) options;
          o = head bad;
        in
        if bad == [ ] then
          null
        else
          "${o.name} ${given.${o.name}} applies to ${elemAt o.onlyWith 1} only, not to ${head o.onlyWith} ${given.${head o.onlyWith} or ""}; drop the level or use ${elemAt o.onlyWith 1}";
    in
    go words { };

  # squash-compression against a block size: null or the problem.
  compressionProblem =
    text: block:
    let
      words = filter (w: isString w && w != "") (split "[[:space:]]+" text);
      name = head words;
    in
    if !isString text then
      "expected a string"
    else if words == [ ] then
      "no compressor named; accepted: ${namesText}"
    else if squashfs.refused ? ${name} then
      "compressor ${name} is not supported (${squashfs.refused.${name}}); accepted: ${namesText}"
    else if !(squashfs.compressors ? ${name}) then
      "unknown compressor \"${name}\"; accepted: ${namesText}, each optionally followed by its -X options"
    else
      optionsProblem name squashfs.compressors.${name} (tail words) block;

  # erofs-compression, mkfs.erofs's -z syntax (NAME[,OPTION=N]...), as the
  # erofs writer parses it (Sources/EROFS/Compression.swift): null or the
  # problem, in its words. A later option of the same name wins.
  erofs = rules.erofs;
  erofsForms = concatStringsSep ", " (map (c: c.form) erofs.compressors);
  int64Max = "9223372036854775807";
  # Swift's Int(text): an optional sign, then digits, within 64 bits; a
  # number or null.
  wholeNumber =
    text:
    let
      m = match "([+-]?)0*([0-9]+)" text;
      d = elemAt m 1;
      fits = stringLength d < 19 || (stringLength d == 19 && !(lessThanText int64Max d));
    in
    if m == null || !fits then
      null
    else if head m == "-" then
      -(fromJSON d)
    else
      fromJSON d;
  lessThanText = a: b: builtins.lessThan a b;
  erofsCompressionProblem =
    text:
    let
      parts = filter isString (split "," text);
      name = head parts;
      pairs = map (p: {
        text = p;
        m = match "([^=]+)=(.+)" p;
      }) (tail parts);
      malformed = filter (p: p.m == null || wholeNumber (elemAt p.m 1) == null || wholeNumber (elemAt p.m 1) < 0) pairs;
      # listToAttrs keeps the first of a name; the writer the last.
      given = listToAttrs (map (p: {
        name = head p.m;
        value = wholeNumber (elemAt p.m 1);
      }) (builtins.genList (i: elemAt pairs (length pairs - 1 - i)) (length pairs)));
      found = filter (c: c.name == name) erofs.compressors;
      compressor = head found;
      allowed = map (o: o.name) compressor.options;
      unknown = filter (k: !(elem k allowed)) (builtins.attrNames given);
      outside = filter (o: given ? ${o.name} && (given.${o.name} < head o.range || given.${o.name} > elemAt o.range 1)) compressor.options;
      o = head outside;
    in
    if !isString text then
      "expected a string"
    else if malformed != [ ] then
      "option \"${(head malformed).text}\": expected NAME=NUMBER (e.g. level=9)"
    else if found == [ ] then
      "unknown compression \"${name}\"; accepted: ${erofsForms}"
    else if unknown != [ ] then
      "unknown option ${head unknown} for ${name}; ${if allowed == [ ] then "it takes no options" else "accepted: ${concatStringsSep ", " allowed}"}"
    else if outside != [ ] then
      "${name} ${o.name} ${toString given.${o.name}}: must be ${toString (head o.range)} to ${toString (elemAt o.range 1)}${o.unit}"
    else
      null;
in
{
  inherit rules blockSize compressionProblem erofsCompressionProblem;
  scaffold = rules.scaffold;
  # "var/tmp" -> [ "var" "tmp" ]
  pathOf = p: filter (c: isString c && c != "") (split "/" p);
  inherit (builtins) listToAttrs;
}
