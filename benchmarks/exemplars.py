"""How much a qgen pool's one-shot exemplar decides what an augmenter writes.

Each draw of the data draws the qgen prompt's exemplar (a SciFact train query and its passage).
This prints, per augmenter and exemplar set, how many of N SciFact passages (a seeded sample)
get a query that passes the pool's copy check (the longest run of words shared with the
passage below ``max_copy_overlap`` of the query, at least ``min_words`` words): the study's
template, passage cut and greedy decoding, float32, one batch.

    python benchmarks/exemplars.py [--llms smollm2-135m qwen25-05b] [--passages 16] \\
        [--exemplar 615:9638032 --exemplar 945:13083189]

Defaults: draw 2's exemplar of the paper-shapes study (query 615, whose text paraphrases its
passage's title), draw 0's (query 945), and both together. Needs the prepared LLMs
(data/prepared/model~<alias>) and the LLM weights cache; it builds them with Snakemake if missing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def scifact(mirror: Path) -> tuple[dict[str, str], dict[str, str]]:
    with zipfile.ZipFile(mirror / "beir/scifact.zip") as z:
        name = {n.rsplit("/", 1)[-1]: n for n in z.namelist()}
        queries = {(r := json.loads(line))["_id"]: r["text"] for line in z.open(name["queries.jsonl"])}
        docs = {(r := json.loads(line))["_id"]: f"{r['title']} {r['text']}".strip() for line in z.open(name["corpus.jsonl"])}
    return queries, docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llms", nargs="+", default=["smollm2-135m", "qwen25-05b"])
    ap.add_argument("--passages", type=int, default=16)
    ap.add_argument("--exemplar", action="append", metavar="QUERY:DOC",
                    help="an exemplar set is the list given (default: 615:9638032, 945:13083189 and both)")
    a = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from synthir.core.config import Decoding
    from synthir.generation.llm.hf import generate_tokens
    from synthir.generation.models import llm_weights
    from synthir.generation.strategy import truncate_words
    from synthir.retrieval.strategies.base import longest_common_run, words

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    qgen, cache = params["strategies"]["qgen"], ROOT / params["cache_dir"]
    queries, docs = scifact((ROOT / params["mirror"]).resolve())
    template = json.loads((ROOT / "src/synthir/prompts" / f"{qgen['prompt']}.json").read_text())
    targets = sorted(docs)
    random.Random(7).shuffle(targets)
    targets = targets[: a.passages]
    given = [tuple(e.split(":")) for e in a.exemplar or []]
    sets = {"+".join(q for q, _ in given): given} if given else {
        "draw 2's (615)": [("615", "9638032")], "draw 0's (945)": [("945", "13083189")],
        "both": [("615", "9638032"), ("945", "13083189")]}
    torch.set_num_threads(params["compute"]["threads"])
    print(f"| augmenter | exemplars | passages with a query that passes the copy check (of {a.passages}) |")
    print("|---|---|---|")
    for alias in a.llms:
        prepared = ROOT / f"data/prepared/model~{alias}"
        if not (prepared / "meta.json").is_file():
            # the default study has one augmenter: paper-shapes plans both
            subprocess.run([sys.executable, "-m", "snakemake", "-j1", str((prepared / "meta.json").relative_to(ROOT)),
                            "--configfile", "configs/paper-shapes.yaml"], cwd=ROOT, check=True)
        folder = llm_weights(prepared, cache)
        tok = AutoTokenizer.from_pretrained(folder)
        tok.padding_side = "left"
        tok.pad_token = tok.pad_token or tok.eos_token
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        decoding = Decoding(params["llms"][alias]["decoding"]["max_new_tokens"], 0.0, 1.0)
        for name, shots in sets.items():
            prompts = []
            for d in targets:
                msgs = [{"role": "system", "content": template["system"]}]
                for q, sd in shots:
                    msgs += [{"role": "user", "content": template["user"].format(passage=truncate_words(docs[sd], qgen["passage_words"]))},
                             {"role": "assistant", "content": queries[q]}]
                msgs.append({"role": "user", "content": template["user"].format(passage=truncate_words(docs[d], qgen["passage_words"]))})
                text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
                prompts.append(tok(text, add_special_tokens=False)["input_ids"])
            passed = 0
            for d, out in zip(targets, generate_tokens(model, prompts, tok.pad_token_id, decoding)):
                lines = tok.decode([t for t in out if t != tok.pad_token_id], skip_special_tokens=True).strip().splitlines()
                w = words(lines[0] if lines else "")
                copy = len(w) >= 4 and longest_common_run(w, words(docs[d])) / len(w) >= qgen["filters"]["max_copy_overlap"]
                passed += len(w) >= qgen["filters"]["min_words"] and not copy
            print(f"| {alias} | {name} | {passed} |", flush=True)


if __name__ == "__main__":
    main()
