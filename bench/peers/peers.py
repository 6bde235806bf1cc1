#!/usr/bin/env python3
"""Peer recommenders under exactly streamrec's prequential replay protocol (tooling only, never product).

Protocol (as `streamrec replay`): events stably sorted by time; every rating is one implicit interaction;
the first --warmup fraction trains only; for every later event the user's top-K over all known items,
excluding items the user already consumed, is ranked *before* the model learns the event; a repeat
consumption is not scored; an unknown user gets the all-time popularity list; an unknown item is a miss.
Ties rank the item seen first higher (streamrec's slot order), so the popularity row must equal
streamrec's to the last digit, which --streamrec checks.

    pip install river implicit flurs
    python3 bench/peers/peers.py data/ml-100k.inter --streamrec .build/release/streamrec --out out/peers.md
    python3 bench/peers/peers.py data/ml-100k.inter --min-rating 4 --streamrec .build/release/streamrec
"""
import argparse, json, math, os, subprocess, sys, tempfile, time
import numpy as np


def load(path, min_rating=None):
    """(user, item, ts) of a RecBole .inter / MovieLens u.data / user,item,ts CSV log, stably time-sorted."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t") if "\t" in line else line.rstrip("\n").split(",")
            if n == 0 and not parts[-1].replace(".", "").isdigit():
                header = [p.split(":")[0] for p in parts]
                continue
            if path.endswith(".csv"):
                u, i, t = parts[0], parts[1], int(parts[2]); r = float(parts[3]) if len(parts) > 3 and parts[3] else None
            else:
                u, i, r, t = parts[0], parts[1], float(parts[2]), int(float(parts[3]))
            if min_rating is not None and r is not None and r < min_rating:
                continue
            rows.append((u, i, t))
    order = sorted(range(len(rows)), key=lambda k: rows[k][2])  # Python's sort is stable
    return [rows[k] for k in order]


class Replay:
    """Runs one model over the log; the model sees dense user/item slots in order of first appearance."""

    def __init__(self, events, k=10, warmup=0.1):
        self.events, self.k, self.warmup = events, k, int(warmup * len(events))

    def run(self, model):
        uid, iid, seen = {}, {}, []
        pop = np.zeros(len({e[1] for e in self.events}), np.float64)
        hits = scored = 0
        ndcg = 0.0
        cpu = time.process_time()
        for pos, (u, i, _) in enumerate(self.events):
            us, it = uid.get(u), iid.get(i)
            if pos >= self.warmup and not (us is not None and it is not None and it in seen[us]):
                n = len(iid)
                if us is None or not model.knows(us):
                    s = pop[:n].copy()
                    excl = seen[us] if us is not None else ()
                else:
                    s = np.asarray(model.scores(us, n), np.float64)
                    excl = seen[us]
                if excl:
                    s[list(excl)] = -np.inf
                top = np.argsort(-s, kind="stable")[: self.k]
                scored += 1
                if it is not None:
                    hit = np.nonzero(top == it)[0]
                    if hit.size and np.isfinite(s[it]):
                        hits += 1
                        ndcg += 1 / math.log2(hit[0] + 2)
            if us is None:
                us = uid[u] = len(uid); seen.append(set()); model.add_user(us)
            if it is None:
                it = iid[i] = len(iid); model.add_item(it)
            pop[it] += 1
            model.learn(us, it, seen[us], len(iid))
            seen[us].add(it)
        cpu = time.process_time() - cpu
        return dict(recall=hits / scored, ndcg=ndcg / scored, scored=scored, cpu=cpu, eps=len(self.events) / cpu)


class Popularity:
    def __init__(self): self.known = set()
    def knows(self, u): return False  # the replay's popularity list is the popularity ranker
    def add_user(self, u): pass
    def add_item(self, i): pass
    def learn(self, u, i, seen, n): pass


class RiverFunkMF:
    """river.reco.FunkMF (squared loss toward 1) + `negatives` uniformly sampled unconsumed items toward 0."""

    def __init__(self, factors=32, lr=0.05, l2=0.01, negatives=8, seed=42):
        from river import optim, reco
        self.m = reco.FunkMF(n_factors=factors, optimizer=optim.SGD(lr), l2=l2,
                             initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=seed))
        self.negatives, self.rng = negatives, np.random.default_rng(seed)
        self.V = np.zeros((0, factors)); self.users = set()

    def knows(self, u): return u in self.users
    def add_user(self, u): self.users.add(u)
    def add_item(self, i):
        self.V = np.vstack([self.V, self.m.i_latents[i][None, :]])

    def scores(self, u, n): return self.V[:n] @ self.m.u_latents[u]

    def learn(self, u, i, seen, n):
        self.m.learn_one(u, i, 1.0); self.V[i] = self.m.i_latents[i]
        for _ in range(self.negatives):
            j = int(self.rng.integers(n))
            if j != i and j not in seen:
                self.m.learn_one(u, j, 0.0); self.V[j] = self.m.i_latents[j]


class Flurs:
    """flurs BPRMF (one negative per event, its own sampler) or ISGD (flurs' IncrementalMF)."""

    def __init__(self, kind="bprmf", **kw):
        from flurs.recommender import BPRMFRecommender as BPRMF, MFRecommender
        from flurs.data.entity import User, Item, Event
        self.User, self.Item, self.Event = User, Item, Event
        np.random.seed(kw.pop("seed", 42))
        self.kind = kind
        self.r = BPRMF(**kw) if kind == "bprmf" else MFRecommender(**kw)
        self.r.initialize()

    def knows(self, u): return u in self.r.users
    def add_user(self, u): self.r.register(self.User(u))
    def add_item(self, i): self.r.register(self.Item(i))

    def scores(self, u, n):
        pred = self.r.Q[:n] @ self.r.users[u]["vec"]
        return pred if self.kind == "bprmf" else -np.abs(1.0 - pred)

    def learn(self, u, i, seen, n):
        self.r.users[u]["known_items"].add(i)
        if self.kind == "bprmf" and len(self.r.users[u]["known_items"]) >= self.r.n_item:
            return  # flurs' sampler needs an unconsumed item to exist
        self.r.update(self.Event(self.User(u), self.Item(i), 1.0))


class ImplicitRetrain:
    """implicit ALS / BPR refit from scratch on all events so far every `every` fraction of the log;
    between refits users/items unknown to the last fit fall back to popularity / rank last."""

    def __init__(self, kind="als", every=0.05, total=0, factors=64, seed=42):
        import implicit, scipy.sparse as sp
        self.sp, self.kind, self.factors, self.seed = sp, kind, factors, seed
        self.step = max(1, int(every * total)); self.rows, self.cols = [], []
        self.U = self.V = None; self.fit_users = 0
        self.make = (lambda: implicit.als.AlternatingLeastSquares(factors=factors, random_state=seed)) if kind == "als" \
            else (lambda: implicit.bpr.BayesianPersonalizedRanking(factors=factors, random_state=seed))

    def knows(self, u): return self.U is not None and u < self.fit_users
    def add_user(self, u): pass
    def add_item(self, i): pass

    def scores(self, u, n):
        s = np.full(n, -np.inf); m = min(n, self.V.shape[0])
        s[:m] = self.V[:m] @ self.U[u]
        return s

    def learn(self, u, i, seen, n):
        self.rows.append(u); self.cols.append(i)
        if len(self.rows) % self.step == 0:
            users = max(self.rows) + 1
            X = self.sp.csr_matrix((np.ones(len(self.rows), np.float32), (self.rows, self.cols)), shape=(users, n))
            X.data[:] = 1.0  # duplicates summed: keep binary
            model = self.make(); model.fit(X, show_progress=False)
            self.U, self.V = np.asarray(model.user_factors), np.asarray(model.item_factors)
            if self.U.shape[1] != self.V.shape[1]:  # implicit's GPU-style padding of the bias column
                d = min(self.U.shape[1], self.V.shape[1]); self.U, self.V = self.U[:, :d], self.V[:, :d]
            self.fit_users = users


def streamrec_rows(binary, log, min_rating, k, warmup, seeds):
    """Runs `streamrec replay` (popularity and mf with default settings) and returns its report rows."""
    out = {}
    for ranker, seed in [("popularity", None)] + [("mf", s) for s in seeds]:
        with tempfile.TemporaryDirectory() as d:
            cmd = [binary, "replay", log, "--model", ranker, "-k", str(k), "--warmup", str(warmup), "--quiet",
                   "--no-diversity", "--report", os.path.join(d, "r.json")]
            if min_rating is not None: cmd += ["--min-rating", str(min_rating)]
            if seed is not None: cmd += ["--seed", str(seed)]
            t = time.process_time(); c0 = os.times()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            c1 = os.times(); cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
            r = json.load(open(os.path.join(d, "r.json")))["reports"][0]
            out[(ranker, seed)] = dict(recall=r["recall"], ndcg=r["ndcg"], scored=r["scoredEvents"], cpu=cpu,
                                       eps=r["totalEvents"] / cpu)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log"); ap.add_argument("--min-rating", type=float); ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--models", default="popularity,river,flurs-bprmf,flurs-isgd,implicit-als,implicit-bpr",
                    help="comma-separated name[:param=value...], e.g. river:lr=0.05:negatives=8")
    ap.add_argument("--streamrec", help="streamrec binary: adds its rows and checks the popularity rows agree")
    ap.add_argument("--seeds", default="42", help="streamrec mf seeds (comma-separated) for the spread")
    ap.add_argument("--out", help="append the markdown table to this file")
    a = ap.parse_args()
    events = load(a.log, a.min_rating)
    rp = Replay(events, a.k, a.warmup)
    make = {
        "popularity": lambda **kw: Popularity(),
        "river": lambda **kw: RiverFunkMF(**kw),
        "flurs-bprmf": lambda **kw: Flurs("bprmf", **{"k": 32, "learn_rate": 0.05, **kw}),
        "flurs-isgd": lambda **kw: Flurs("isgd", **{"k": 32, "learn_rate": 0.03, **kw}),
        "implicit-als": lambda **kw: ImplicitRetrain("als", total=len(events), **kw),
        "implicit-bpr": lambda **kw: ImplicitRetrain("bpr", total=len(events), **kw),
    }
    rows = []
    for spec in a.models.split(","):
        # name[:param=value...], e.g. river:lr=0.05:negatives=8 (constructor keyword arguments)
        name, *params = spec.split(":")
        kw = {k: (int(v) if v.lstrip("-").isdigit() else float(v)) for k, v in (p.split("=") for p in params)}
        r = rp.run(make[name](**kw)); rows.append((spec, r))
        print(f"{name:14s} recall@{a.k} {r['recall']:.4f} NDCG@{a.k} {r['ndcg']:.4f} scored {r['scored']} "
              f"{r['eps']:.0f} events/CPU-s", file=sys.stderr, flush=True)
    if a.streamrec:
        seeds = [int(s) for s in a.seeds.split(",")]
        sr = streamrec_rows(a.streamrec, a.log, a.min_rating, a.k, a.warmup, seeds)
        p = sr[("popularity", None)]
        ours = next((r for n, r in rows if n.split(":")[0] == "popularity"), None)
        if ours:
            same = abs(p["recall"] - ours["recall"]) < 1e-12 and abs(p["ndcg"] - ours["ndcg"]) < 1e-9 \
                and p["scored"] == ours["scored"]
            print(f"popularity check: streamrec {p['recall']:.6f}/{p['ndcg']:.6f} harness {ours['recall']:.6f}/"
                  f"{ours['ndcg']:.6f} -> {'AGREE' if same else 'DISAGREE'}", file=sys.stderr)
            if not same: sys.exit(2)
        mf = [sr[("mf", s)] for s in seeds]
        rec = np.array([m["recall"] for m in mf]); nd = np.array([m["ndcg"] for m in mf])
        rows.insert(0, (f"streamrec mf, defaults ({len(seeds)} seeds: mean ± sd)" if len(seeds) > 1 else "streamrec mf, defaults",
                        dict(recall=rec.mean(), ndcg=nd.mean(), rsd=rec.std(ddof=1) if len(seeds) > 1 else None,
                             nsd=nd.std(ddof=1) if len(seeds) > 1 else None, scored=mf[0]["scored"],
                             eps=np.mean([m["eps"] for m in mf]))))
        rows.insert(1, ("streamrec popularity", p))
    title = f"{os.path.basename(a.log)}{'' if a.min_rating is None else f', ratings ≥ {a.min_rating:g}'}"
    lines = [f"| model ({title}) | recall@{a.k} | NDCG@{a.k} | scored | events/CPU-s |", "|---|---:|---:|---:|---:|"]
    for name, r in rows:
        sd = f" ± {r['rsd']:.4f}" if r.get("rsd") is not None else ""
        nsd = f" ± {r['nsd']:.4f}" if r.get("nsd") is not None else ""
        lines.append(f"| {name} | {r['recall']:.4f}{sd} | {r['ndcg']:.4f}{nsd} | {r['scored']} | {r['eps']:.0f} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        with open(a.out, "a") as f: f.write(table + "\n\n")


if __name__ == "__main__":
    main()
