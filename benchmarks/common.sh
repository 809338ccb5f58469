# Sourced by the benchmark scripts (from the repository's top directory): checks that hyperfine is
# there, and sets $bin to the release build of kcheck, rebuilt when Sources or rules are newer.
command -v hyperfine >/dev/null || { echo "$0: hyperfine is missing: apt-get install hyperfine" >&2; exit 2; }
bin=.build/release/kcheck
if [ ! -x "$bin" ] || [ -n "$(find Sources rules -newer "$bin" -print -quit)" ]; then
  swift build -c release -Xswiftc -static-executable
fi
