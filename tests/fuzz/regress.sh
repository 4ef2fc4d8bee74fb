#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every harness once over each input of its seed corpus
# (tests/fuzz/corpus/NAME/, all in one process) and of its regression inputs
# (tests/fuzz/crashes/NAME/, one process each, so that every one is told),
# without fuzzing. Called by `make fuzz-regress`; the environment carries the
# sanitizers' options.
#
#   tests/fuzz/regress.sh BUILD_DIR FUZZ_DIR "LIBFUZZER FLAGS" NAME...

set -u
build=$1 dir=$2 flags=$3
shift 3
pass=0 fail=0

# Prints the first line of a log that says what went wrong.
why() {
	grep -m1 -E 'property broken|^SUMMARY: |runtime error|ERROR: (Address|Leak)Sanitizer' "$1" |
		sed 's/^/      /'
}

for n in "$@"; do
	bin=$build/fuzz-$n
	log=$build/regress-$n.log
	ok=1
	corpus=$(find "$dir/corpus/$n" -type f 2>/dev/null | sort)
	crashes=$(find "$dir/crashes/$n" -type f 2>/dev/null | sort)
	if [ -z "$corpus" ]; then
		echo "FAILED: fuzz-$n: no seed corpus in $dir/corpus/$n"
		fail=$((fail + 1))
		continue
	fi
	# shellcheck disable=SC2086 # the flags and the file lists are word lists
	if ! timeout -k 10 600 "$bin" $flags $corpus > "$log" 2>&1; then
		echo "FAILED: fuzz-$n on its seed corpus; see $log"
		why "$log"
		ok=0
	fi
	for f in $crashes; do
		# shellcheck disable=SC2086
		if ! timeout -k 10 120 "$bin" $flags "$f" > "$log.crash" 2>&1; then
			echo "FAILED: fuzz-$n $f"
			why "$log.crash"
			ok=0
		fi
	done
	rm -f "$log.crash"
	count=$(printf '%s\n%s\n' "$corpus" "$crashes" | grep -c .)
	if [ $ok -eq 1 ]; then
		echo "ok: fuzz-$n, $count inputs"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "fuzz-regress: $pass passed, $fail failed"
[ $fail -eq 0 ]
