"""Literal pure-Python reference loops of the Lorentzian neighbour vote (spec 1.4 and 5.1), for tests."""

import math


def pine_reference(feats, labels, k, max_bars_back):
    """Spec 1.4 pseudo-code as written: persistent lists, the oldest maxBarsBack bars, start at mbbi."""
    nf, n = len(feats), len(feats[0])
    mbbi = n - 1 - max_bars_back if n - 1 >= max_bars_back else 0
    idx = int(math.floor(k * 3 / 4 + 0.5))
    preds, dists, out = [], [], [0] * n
    for t in range(mbbi, n):
        last = -1.0
        for i in range(min(max_bars_back - 1, t) + 1):
            d = 0.0
            for f in range(nf):
                d += math.log(1 + abs(feats[f][t] - feats[f][i]))
            if d >= last and i % 4 != 0:
                last = d
                dists.append(d)
                preds.append(labels[i])
                if len(preds) > k:
                    last = dists[idx]
                    dists.pop(0)
                    preds.pop(0)
        out[t] = sum(preds)
    return out


def rolling_reference(feats, labels, k, max_bars_back):
    """Spec 5.1 rolling mode: candidates are the maxBarsBack bars before t, (t - i) % 4 != 0, fresh lists per bar."""
    nf, n = len(feats), len(feats[0])
    idx = int(math.floor(k * 3 / 4 + 0.5))
    out = [0] * n
    for t in range(n):
        if any(math.isnan(feats[f][t]) for f in range(nf)):
            continue
        preds, dists, last = [], [], -1.0
        for i in range(max(0, t - max_bars_back), t):
            if (t - i) % 4 == 0:
                continue
            d = 0.0
            for f in range(nf):
                d += math.log(1 + abs(feats[f][t] - feats[f][i]))
            if d >= last:
                last = d
                dists.append(d)
                preds.append(labels[i])
                if len(preds) > k:
                    last = dists[idx]
                    dists.pop(0)
                    preds.pop(0)
        out[t] = sum(preds)
    return out
