#!/usr/bin/env python3
"""Plots the accuracy / diversity / fairness trade-off of ε-greedy and MMR λ from tradeoff-sweep.sh output
directories, and prints the markdown tables docs/evaluation.md carries.

Usage: python3 bench/evaluation/plot_tradeoff.py OUT.svg LABEL=DIR [LABEL=DIR ...]
Tooling only (matplotlib); the product never runs Python.
"""
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable SVG
import matplotlib.pyplot as plt  # noqa: E402


def load(directory):
    runs = {"eps": [], "mmr": []}
    for path in glob.glob(os.path.join(directory, "*.json")):
        name = os.path.basename(path)[:-5]
        kind, _, value = name.partition("-")
        if kind not in runs:
            continue
        report = json.load(open(path))["reports"][0]
        runs[kind].append((float(value), report))
    runs["eps"].sort(key=lambda r: r[0])
    runs["mmr"].sort(key=lambda r: -r[0])
    # λ = 1 (MMR off) is the ε = 0 run: both curves start at the plain model.
    if runs["eps"] and runs["eps"][0][0] == 0:
        runs["mmr"].insert(0, (1.0, runs["eps"][0][1]))
    return runs


def table(label, runs):
    print(f"\n{label}\n")
    print("| setting | recall@10 | NDCG@10 | AUC | intra-list div. | coverage | exposure Gini | exposure entropy (bits) | long-tail lists |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, symbol in (("eps", "ε"), ("mmr", "λ")):
        for value, r in runs[kind]:
            if kind == "mmr" and value == 1.0:
                continue
            auc = "n/a" if r.get("auc") is None else f"{r['auc']:.4f}"
            div = "n/a" if r.get("diversity") is None else f"{r['diversity']:.4f}"
            print(f"| {symbol} = {value:g} | {r['recall']:.4f} | {r['ndcg']:.4f} | {auc} | {div} | {r['coverage']:.4f} | "
                  f"{r['exposureGini']:.4f} | {r['exposureEntropy']:.2f} | {r['longTailShare']:.4f} |")


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    datasets = [(s.split("=", 1)[0], load(s.split("=", 1)[1])) for s in specs]
    panels = [("diversity", "intra-list diversity (mean pairwise cosine distance)"),
              ("exposureGini", "exposure Gini (lower = fairer)"),
              ("coverage", "catalog coverage")]
    fig, axes = plt.subplots(len(datasets), len(panels), figsize=(13, 3.8 * len(datasets)), squeeze=False)
    for row, (label, runs) in enumerate(datasets):
        table(label, runs)
        for col, (key, xlabel) in enumerate(panels):
            ax = axes[row][col]
            for kind, color, marker, symbol in (("eps", "#2e90fa", "o", "ε"), ("mmr", "#f79009", "s", "λ")):
                pts = [(r[key], r["recall"], v) for v, r in runs[kind] if r.get(key) is not None]
                if not pts:
                    continue
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color,
                        label=f"ε-greedy ({symbol})" if kind == "eps" else f"MMR ({symbol})")
                for x, y, v in pts:
                    ax.annotate(f"{v:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, color=color)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("recall@10")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print(f"\nwrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
