#!/usr/bin/bash
# Every kind of quoting operators use in environment.sh.
PLAIN=value
export EXPORTED=exported-value
SINGLE='single $NOT_EXPANDED "double inside"'
DOUBLE="double with $PLAIN and ${EXPORTED} and \"escaped\" and \$dollar and \\backslash"
MIXED=pre'single'"double"post
ESCAPED=a\ b\"c
EMPTY=
EMPTY_QUOTED=""
declare -x DECLARED=declared
readonly RO="read only"
ARRAY=(
  one            # a comment inside the array
  "two words"
  'three'
  four\ five
)
export IPS=(10.0.0.1 10.0.0.2) NAMES=(a b)
FIRST=$ARRAY
SECOND=${ARRAY[1]}
ALL="${ARRAY[@]}"
COUNT_LIKE="${#ARRAY[@]}"
CONTINUED="line one \
line two"
COMPUTED=$(date +%s)
NESTED=$(echo "$(echo ')' )")
BACKTICK=`hostname`
ARITH=$((1 + 2))
UNKNOWN_REF=$HOME/bin:${UNSET_THING}
APPENDED=a
APPENDED+=b
echo "a command line, skipped"
if [ -n "$PLAIN" ]; then LATE=in-if; fi
SEMI=1; AFTER_SEMI=2
