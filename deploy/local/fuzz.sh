#!/usr/bin/env bash
# The client protocol's coverage-guided fuzz targets (services/protocol/fuzz, cargo-fuzz and
# libFuzzer): each runs for FUZZ_SECONDS (`make test`: 20, `make fuzz`: 600), starting from
# every JSON example of docs/protocol.md and what earlier runs found (.run/fuzz/corpus).
# A crash fails the run; its input is kept in .run/fuzz/crashes/<target>/ and
# `cargo fuzz run -s none <target> <file>` (in services/protocol) replays it.
# cargo-fuzz comes from crates.io into .run/tools once. The targets build on the stable
# toolchain without a sanitizer (`-s none`): the parsers are safe Rust, so coverage
# guidance is what matters, and a panic or failed assertion is what is caught.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN_DIR=${RUN_DIR:-$ROOT/.run}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
CARGO_FUZZ_VERSION=0.13.2
TOOLS=$RUN_DIR/tools
TARGETS=(client_frame resume)

if [ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
  cargo install -q --locked --root "$TOOLS" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export PATH=$TOOLS/bin:$PATH

# Seeds: every JSON value of the protocol document's examples, one file each.
seeds=$RUN_DIR/fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds"
python3 - "$ROOT/docs/protocol.md" "$seeds" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
decoder = json.JSONDecoder()
count = 0
for block in re.findall(r"```json\n(.*?)```", text, re.S):
    at = 0
    while True:
        while at < len(block) and block[at].isspace():
            at += 1
        if at >= len(block):
            break
        value, at = decoder.raw_decode(block, at)
        count += 1
        with open(f"{sys.argv[2]}/example-{count}.json", "w") as out:
            json.dump(value, out, separators=(",", ":"))
print(f"{count} seeds from docs/protocol.md")
PY

cd "$ROOT/services/protocol"
export CARGO_TARGET_DIR=$ROOT/target/fuzz
# cargo-fuzz has no --locked: check that the lockfile needs no change first.
cargo metadata -q --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null
for target in "${TARGETS[@]}"; do cargo fuzz build -s none "$target"; done
for target in "${TARGETS[@]}"; do
  corpus=$RUN_DIR/fuzz/corpus/$target
  crashes=$RUN_DIR/fuzz/crashes/$target
  mkdir -p "$corpus" "$crashes"
  echo "== fuzzing $target for ${FUZZ_SECONDS}s"
  if ! cargo fuzz run -s none "$target" "$corpus" "$seeds" -- \
      -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$crashes/" -print_final_stats=1 2>"$RUN_DIR/fuzz/$target.log"; then
    tail -40 "$RUN_DIR/fuzz/$target.log" >&2
    echo "fuzz: $target failed; the input is in $crashes/" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" "$RUN_DIR/fuzz/$target.log" | tr '\n' ' '
  echo
done
