#!/usr/bin/env bash
# Per-event cost of `streamrec replay`: callgrind instruction counts and heap allocations at two
# prefixes of one generated log (the difference / events is the per-event cost past start-up and log
# reading), and CPU time on the whole log, for a baseline binary and a candidate built and run in the
# same session.
#
#   bench/per-event-cost.sh [BASELINE_BIN CANDIDATE_BIN] [WORKDIR]
#
# Without binaries, the baseline is a release build of commit $BASELINE (default 5ca6d2e; built once in
# .build-baseline/<commit>, see bench/lib.sh) and the candidate this tree's release build.
# Needs valgrind and a C compiler (clang from the Swift toolchain is fine). Instruction counts are
# repeatable on a loaded machine; CPU time is not, so it is run twice per binary, alternating.
# Two LD_PRELOAD helpers are built in WORKDIR: one copies sigsuspend's mask (valgrind 3.19 writes
# into it, and libdispatch passes a read-only one: the run crashes inside valgrind without it), one
# counts malloc/calloc/realloc/posix_memalign/aligned_alloc calls and prints the total at exit.
set -euo pipefail
BENCH_NAME=per-event-cost
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools valgrind strip
if [ $# -ge 2 ]; then
  BASE=$1; CAND=$2; WORK=${3:-/tmp/per-event-cost}
else
  WORK=${1:-/tmp/per-event-cost}
  BASE=$(baseline_bin); CAND=$(streamrec_bin)
fi
CC=${CC:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
mkdir -p "$WORK"
cat > "$WORK/shim.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return syscall(SYS_rt_sigsuspend, &copy, 8); }
#ifdef COUNT
extern void *__libc_malloc(size_t); extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t); extern void *__libc_memalign(size_t, size_t);
static long n;
void *malloc(size_t s) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); return __libc_malloc(s); }
void *calloc(size_t a, size_t b) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); return __libc_calloc(a, b); }
void *realloc(void *p, size_t s) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); return __libc_realloc(p, s); }
int posix_memalign(void **r, size_t a, size_t s) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); *r = __libc_memalign(a, s); return *r ? 0 : 12; }
void *aligned_alloc(size_t a, size_t s) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); return __libc_memalign(a, s); }
__attribute__((destructor)) static void report(void) { fprintf(stderr, "heap allocations: %ld\n", n); }
#endif
C
"$CC" -O2 -shared -fPIC -o "$WORK/shim.so" "$WORK/shim.c"
"$CC" -O2 -shared -fPIC -DCOUNT -o "$WORK/count.so" "$WORK/shim.c"
# valgrind can't read the Swift 6 DWARF of an unstripped release binary: profile stripped copies.
cp "$BASE" "$WORK/base"; cp "$CAND" "$WORK/cand"; strip --strip-debug "$WORK/base" "$WORK/cand"
LOG="$WORK/g10k.jsonl"
[ -f "$LOG" ] || "$WORK/cand" generate --out "$LOG" --items 10000 --users 20000 --events 200000 >/dev/null
head -20000 "$LOG" > "$WORK/p20k.jsonl"; head -40000 "$LOG" > "$WORK/p40k.jsonl"
FLAGS=(--quiet --overlap-every 0 --auc-samples 0)
echo "baseline: $BASE"; echo "candidate: $CAND"
echo "load before: $(uptime)"
declare -A CPU WALL IPE APE
for round in 1 2; do
  for b in base cand; do
    out=$( { /usr/bin/time -f "%U %S" "$WORK/$b" replay "$LOG" "${FLAGS[@]}" > "$WORK/$b.report" ; } 2>&1 | tail -1)
    CPU[$b]+="$(echo "$out" | awk '{printf "%.2f ", $1 + $2}')"
    WALL[$b]+="$(grep '^| mf' "$WORK/$b.report" | awk -F'|' '{gsub(/ /, "", $17); printf "%s ", $17}')"
  done
done
ROWS=()
for b in base cand; do
  i20=$(LD_PRELOAD="$WORK/shim.so" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$b.20k" "$WORK/$b" replay "$WORK/p20k.jsonl" "${FLAGS[@]}" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,)
  i40=$(LD_PRELOAD="$WORK/shim.so" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$b.40k" "$WORK/$b" replay "$WORK/p40k.jsonl" "${FLAGS[@]}" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,)
  a20=$(LD_PRELOAD="$WORK/count.so" "$WORK/$b" replay "$WORK/p20k.jsonl" "${FLAGS[@]}" 2>&1 | sed -n 's/heap allocations: //p')
  a40=$(LD_PRELOAD="$WORK/count.so" "$WORK/$b" replay "$WORK/p40k.jsonl" "${FLAGS[@]}" 2>&1 | sed -n 's/heap allocations: //p')
  recall=$(grep '^| mf' "$WORK/$b.report" | awk -F'|' '{gsub(/ /, "", $5); print $5}')
  IPE[$b]=$(( (i40 - i20) / 20000 )); APE[$b]=$(awk "BEGIN{printf \"%.2f\", ($a40 - $a20) / 20000}")
  ROWS+=("| $b ($( [ $b = base ] && echo "$BASE" || echo "$CAND" )) | $i20 / $i40 | ${IPE[$b]} | $a20 / $a40 | ${APE[$b]} | ${CPU[$b]}| ${WALL[$b]}| $recall |")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
sum() { echo "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s }'; }
echo "load after: $(uptime)"
echo
echo "| binary | instructions 20K / 40K events | per event (20K→40K) | allocations 20K / 40K | per event | CPU s, 200K events (2 runs) | events/s (wall, 2 runs) | recall@10 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo "| candidate / baseline | | $(ratio "${IPE[cand]}" "${IPE[base]}") | | $(ratio "${APE[cand]}" "${APE[base]}") | $(ratio "$(sum "${CPU[cand]}")" "$(sum "${CPU[base]}")") | $(ratio "$(sum "${WALL[cand]}")" "$(sum "${WALL[base]}")") | |"
cmp -s <(grep '^| mf' "$WORK/base.report" | cut -d'|' -f1-16) <(grep '^| mf' "$WORK/cand.report" | cut -d'|' -f1-16) \
  && echo "replay metrics (all columns but events/s): identical" || echo "replay metrics: DIFFER"
