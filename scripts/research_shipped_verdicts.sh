#!/bin/bash
# Walk-forward verdicts of the four shipped strategies on the shared BTCUSDT data: A = the seeds' leverage and
# sizing (strategy params searched), B = leverage/sizing/stop searched too, C = the new shipped defaults (5x, a
# position of 1x capital: fixed 20 % margin, drift kelly 0.2; stop 1 %).
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/qd-research-verdicts}; mkdir -p "$OUT"
export QUANTDESK_VENV=${QUANTDESK_VENV:-/work/main/.venv}
D=${DATA_DIR:-../shared/data/bybit}
run() { nice -n 10 ./desk manage research walkforward --data-dir $D --folds 5 --seed 1 "$@" ; }
CH='{"params": {"length": {"low": 5, "high": 100, "log": true}, "mult": {"low": 1, "high": 8}, "use_close": {"values": [true, false]}}'
LO='{"params": {"horizon": {"low": 3, "high": 72, "log": true}, "threshold": {"low": 0.5, "high": 0.6}, "l2": {"low": 0.01, "high": 100, "log": true}}'
DR='{"params": {"horizon": {"low": 3, "high": 72, "log": true}, "drift_threshold": {"low": 0.0005, "high": 0.01, "log": true}, "min_confidence": {"low": 0.3, "high": 0.9}}'
LZ='{"params": {"neighbors_count": {"low": 4, "high": 16}, "feature_count": {"low": 2, "high": 5}, "use_regime_filter": {"values": [true, false]}}'
LEV='"leverage": {"values": [3, 5, 10, 20, 50, 75, 100]}, "stop_loss_pct": {"low": 0.25, "high": 5.0, "log": true}'
run --strategy chandelier --trials 30 --leverage 100 --allocation 0.03 --stop-loss-pct 0.25 --space "$CH}" --json $OUT/chandelier_A.json > $OUT/chandelier_A.txt 2>$OUT/chandelier_A.err
run --strategy chandelier --trials 30 --leverage 100 --allocation 0.03 --stop-loss-pct 0.25 --space "$CH, $LEV}" --json $OUT/chandelier_B.json > $OUT/chandelier_B.txt 2>$OUT/chandelier_B.err
run --strategy logistic --trials 16 --leverage 50 --allocation 0.07 --stop-loss-pct 0.25 --space "$LO}" --json $OUT/logistic_A.json > $OUT/logistic_A.txt 2>$OUT/logistic_A.err
run --strategy logistic --trials 16 --leverage 50 --allocation 0.07 --stop-loss-pct 0.25 --space "$LO, $LEV}" --json $OUT/logistic_B.json > $OUT/logistic_B.txt 2>$OUT/logistic_B.err
run --strategy drift --trials 16 --leverage 50 --sizing-mode kelly --kelly-fraction 0.5 --stop-loss-pct 0.25 --space "$DR}" --json $OUT/drift_A.json > $OUT/drift_A.txt 2>$OUT/drift_A.err
run --strategy drift --trials 16 --leverage 50 --sizing-mode kelly --kelly-fraction 0.5 --stop-loss-pct 0.25 --space "$DR, $LEV, \"kelly_fraction\": {\"low\": 0.05, \"high\": 1.0}}" --json $OUT/drift_B.json > $OUT/drift_B.txt 2>$OUT/drift_B.err
run --strategy lorentzian --trials 8 --leverage 75 --allocation 0.05 --stop-loss-pct 0.25 --space "$LZ}" --json $OUT/lorentzian_A.json > $OUT/lorentzian_A.txt 2>$OUT/lorentzian_A.err
run --strategy lorentzian --trials 8 --leverage 75 --allocation 0.05 --stop-loss-pct 0.25 --space "$LZ, $LEV}" --json $OUT/lorentzian_B.json > $OUT/lorentzian_B.txt 2>$OUT/lorentzian_B.err
run --strategy chandelier --trials 30 --leverage 5 --allocation 0.2 --stop-loss-pct 1 --space "$CH}" --json $OUT/chandelier_C.json > $OUT/chandelier_C.txt 2>$OUT/chandelier_C.err
run --strategy logistic --trials 16 --leverage 5 --allocation 0.2 --stop-loss-pct 1 --space "$LO}" --json $OUT/logistic_C.json > $OUT/logistic_C.txt 2>$OUT/logistic_C.err
run --strategy drift --trials 16 --leverage 5 --sizing-mode kelly --kelly-fraction 0.2 --stop-loss-pct 1 --space "$DR}" --json $OUT/drift_C.json > $OUT/drift_C.txt 2>$OUT/drift_C.err
run --strategy lorentzian --trials 8 --leverage 5 --allocation 0.2 --stop-loss-pct 1 --space "$LZ}" --json $OUT/lorentzian_C.json > $OUT/lorentzian_C.txt 2>$OUT/lorentzian_C.err
echo ALLDONE > $OUT/done
