"""Puppet's verdicts on manifests, and orchestrate's agreement with them: the Python half of
scripts/corpus (its sub-commands, below) and of scripts/real-plans (which imports it)."""
import json, os, re, subprocess, sys, time, random, shutil

CORPUS = os.environ.get("CORPUS", "")
TREE = os.path.join(CORPUS, "tree")
VERDICTS = os.path.join(CORPUS, "puppet-verdicts.json")
PUPPET = os.environ.get("PUPPET", "puppet")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# "Error: <msg> (file: /abs/x.pp, line: 12, column: 5)"  (line/column optional)
LOGLINE = re.compile(
    r"^(Error|Warning): (.*?)(?: \(file: (.+?)(?:, line: (\d+))?(?:, column: (\d+))?\))?\s*$",
    re.S)

def files():
    with open(os.path.join(CORPUS, "files.txt")) as f:
        return [l.rstrip("\n") for l in f if l.strip()]

def chunks(paths, max_bytes=500_000, max_files=5000):
    cur, size = [], 0
    for p in paths:
        if cur and (size + len(p) + 1 > max_bytes or len(cur) >= max_files):
            yield cur
            cur, size = [], 0
        cur.append(p); size += len(p) + 1
    if cur:
        yield cur

def split_log(text):
    """Split puppet's stderr into log records (a record may span lines)."""
    text = ANSI.sub("", text)
    recs, cur = [], None
    for line in text.splitlines():
        if re.match(r"^(Error|Warning|Notice|Info|Debug): ", line):
            if cur is not None: recs.append(cur)
            cur = line
        elif cur is not None:
            cur += "\n" + line
    if cur is not None: recs.append(cur)
    return recs

def run_puppet(paths, cwd, tasks=False):
    """Validate many files in ONE puppet process. Returns {path: verdict}.
    `puppet parser validate` validates every file and keeps going after
    errors; with --render-as json it prints {file: error} for failing files.
    Validation errors ("Language validation logged N errors. Giving up") have
    no position in the json, the individual errors were logged to stderr with
    (file:, line:, column:) -- take the first one for that file."""
    flags = ["--tasks"] if tasks else []
    p = subprocess.run([PUPPET, "parser", "validate", *flags, "--render-as", "json", "--color=false", *paths],
                       cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    errs = None
    if p.returncode == 0:
        errs = {}
    elif p.returncode == 1:
        try:
            errs = json.loads(p.stdout) if p.stdout.strip() else None
        except ValueError:
            errs = None
    if errs is None:
        # puppet died without a per-file report: bisect
        if len(paths) > 1:
            mid = len(paths) // 2
            out = run_puppet(paths[:mid], cwd, tasks); out.update(run_puppet(paths[mid:], cwd, tasks))
            return out
        recs = [ANSI.sub("", r) for r in split_log(p.stderr) if r.startswith("Error")]
        msg = recs[0][len("Error: "):] if recs else (p.stderr.strip() or "puppet exit %d" % p.returncode)
        m = LOGLINE.match("Error: " + msg)
        return {paths[0]: {"ok": False, "line": int(m.group(4)) if m and m.group(4) else None,
                           "column": int(m.group(5)) if m and m.group(5) else None,
                           "message": (m.group(2) if m else msg).strip()}}
    logged = {}   # abs path -> first logged error
    for rec in split_log(p.stderr):
        m = LOGLINE.match(rec)
        if not m or m.group(1) != "Error" or not m.group(3):
            continue
        msg = m.group(2).replace("Could not parse for environment production: ", "")
        logged.setdefault(os.path.realpath(os.path.join(cwd, m.group(3))), {
            "line": int(m.group(4)) if m.group(4) else None,
            "column": int(m.group(5)) if m.group(5) else None,
            "message": msg})
    out = {}
    for path in paths:
        e = errs.get(path)
        if e is None:
            out[path] = {"ok": True, "line": None, "column": None, "message": ""}
            continue
        v = {"ok": False, "line": e.get("line"), "column": e.get("pos"), "message": e.get("message") or e.get("full_message") or ""}
        first = logged.get(os.path.realpath(os.path.join(cwd, path)))
        if v["line"] is None and first and first["line"] is not None:
            v.update(first)
        if e.get("issue_code"):
            v["issue_code"] = e["issue_code"]
        out[path] = v
    return out

def cmd_verdicts(refresh):
    allf = files()
    cache = {}
    if os.path.exists(VERDICTS) and not refresh:
        with open(VERDICTS) as f:
            cache = json.load(f)
    todo = [p for p in allf if p not in cache]
    if todo:
        t0 = time.time()
        n = 0
        for ch in chunks(todo):
            cache.update(run_puppet(ch, TREE))
            n += 1
        dt = time.time() - t0
        print("corpus: puppet validated %d files in %d invocation(s), %.1fs" % (len(todo), n, dt), file=sys.stderr)
        keep = set(allf)
        cache = {k: cache[k] for k in sorted(cache) if k in keep}
        tmp = VERDICTS + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cache, f, indent=1, sort_keys=True)
        os.replace(tmp, VERDICTS)
    bad = sum(1 for p in allf if not cache[p]["ok"])
    print("corpus: puppet accepts %d, rejects %d (cache: %s)" % (len(allf) - bad, bad, os.path.relpath(VERDICTS)), file=sys.stderr)

def cmd_verify(n):
    with open(VERDICTS) as f:
        cache = json.load(f)
    allf = files()
    rnd = random.Random(42)
    sample = sorted(set(rnd.sample(allf, min(n, len(allf))) + [p for p in allf if not cache[p]["ok"]]))
    from concurrent.futures import ThreadPoolExecutor
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        res = list(ex.map(lambda p: (p, run_puppet([p], TREE)[p]), sample))
    diff = 0
    for p, v in res:
        c = cache[p]
        if (v["ok"], v["line"]) != (c["ok"], c["line"]):
            diff += 1
            print("DIFF %s\n  batch:    %s\n  per-file: %s" % (p, c, v))
    print("corpus: verify-batch: %d files one-per-process in %.1fs, %d difference(s)" % (len(sample), time.time() - t0, diff))
    return 1 if diff else 0

def rel_to_tree(path, tree_real):
    a = os.path.realpath(path)
    r = os.path.relpath(a, tree_real)
    return r

def mismatches(paths, verdicts, diags):
    """The files where orchestrate and Puppet disagree, as three lists of lines:
    (a) Puppet accepts and orchestrate rejects, (b) the reverse, (c) both reject at
    different lines. `diags` holds orchestrate's problems by path, in source order."""
    a, b, c = [], [], []
    for p in paths:
        v, ds = verdicts[p], diags.get(p)
        if v["ok"] and ds:
            d = ds[0]
            a.append("%s:%s:%s: %s%s" % (p, d.get("line"), d.get("column"), d.get("message"),
                     "" if len(ds) == 1 else "  (+%d more)" % (len(ds) - 1)))
        elif not v["ok"] and not ds:
            b.append("%s:%s:%s: puppet: %s" % (p, v["line"], v.get("column"), v["message"]))
        elif not v["ok"] and ds and v["line"] is not None and ds[0].get("line") != v["line"]:
            d = ds[0]
            c.append("%s: puppet line %s: %s\n    orchestrate %s:%s: %s" % (
                p, v["line"], v["message"], d.get("line"), d.get("column"), d.get("message")))
    return a, b, c

def cmd_compare(jsonl, rc):
    with open(VERDICTS) as f:
        verdicts = json.load(f)
    allf = files()
    tree_real = os.path.realpath(TREE)
    diags, junk = {}, []
    with open(jsonl) as f:
        for line in f:
            s = line.strip()
            if not s.startswith("{"):
                if s: junk.append(s)
                continue
            try:
                d = json.loads(s)
            except ValueError:
                junk.append(s); continue
            r = rel_to_tree(os.path.join(os.environ["ROOT"], d.get("file", "")), tree_real)
            diags.setdefault(r, []).append(d)
    for r in diags:
        diags[r].sort(key=lambda d: (d.get("line") or 0, d.get("column") or 0))
    known = set(allf)
    extra = sorted(r for r in diags if r not in known)
    a, b, c = mismatches(allf, verdicts, diags)
    total = len(allf)
    parsed = total - sum(1 for p in allf if p in diags)
    accepted = sum(1 for p in allf if verdicts[p]["ok"])
    show = int(os.environ.get("CORPUS_SHOW", "25"))
    sections = [
        ("(a) puppet accepts, orchestrate rejects", a),
        ("(b) puppet rejects, orchestrate accepts", b),
        ("(c) both reject, different line", c),
    ]
    if extra:
        sections.append(("(x) orchestrate diagnostics for files outside the corpus list", extra))
    if junk:
        sections.append(("(j) non-JSON lines in orchestrate output", junk))
    full = []
    print("total .pp files:      %d" % total)
    print("orchestrate parses:   %d" % parsed)
    print("puppet accepts:       %d" % accepted)
    if rc not in (0, 1):
        print("WARNING: orchestrate exited with status %d (crash?)" % rc)
        full.append("orchestrate exit status %d\n" % rc)
    elif (rc == 0) != (len(diags) == 0):
        print("WARNING: orchestrate exit status %d inconsistent with %d diagnostic file(s)" % (rc, len(diags)))
    for title, items in sections:
        print("%s: %d" % (title, len(items)))
        for it in items[:show]:
            print("  " + it)
        if len(items) > show:
            print("  ... %d more in target/corpus/mismatches.txt" % (len(items) - show))
        full.append("%s: %d\n" % (title, len(items)) + "".join("  %s\n" % it for it in items))
    with open(os.path.join(CORPUS, "mismatches.txt"), "w") as f:
        f.write("\n".join(full) + "\n")
    nm = len(a) + len(b) + len(c)
    print("corpus: %d files, %d parsed, %d mismatches" % (total, parsed, nm))
    return 1 if (a or b or rc not in (0, 1)) else 0

def cmd_speed_pick(max_files, max_bytes):
    speed = os.path.join(CORPUS, "speed")
    shutil.rmtree(speed, ignore_errors=True)
    os.makedirs(speed)
    verdicts = {}
    if os.path.exists(VERDICTS):
        with open(VERDICTS) as f:
            verdicts = json.load(f)
    # prefer files puppet accepts, so that both tools do all the work
    allf = sorted(files(), key=lambda p: (not verdicts.get(p, {}).get("ok", True), p))
    n = size = 0
    for p in allf:
        if n >= max_files: break
        s = os.path.getsize(os.path.join(TREE, p))
        if size + s > max_bytes: continue
        pkg = p.split("/", 1)[0].replace("puppet-module-", "")
        dst = "%04d_%s_%s" % (n, pkg, os.path.basename(p))
        shutil.copyfile(os.path.join(TREE, p), os.path.join(speed, dst[:200]))
        n += 1; size += s
    print("%d %d" % (n, size))

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "verdicts": cmd_verdicts(args and args[0] == "1")
    elif cmd == "verify": sys.exit(cmd_verify(int(args[0])))
    elif cmd == "compare": sys.exit(cmd_compare(args[0], int(args[1])))
    elif cmd == "speed-pick": cmd_speed_pick(int(args[0]), int(args[1]))
    else: sys.exit("unknown helper command " + cmd)
