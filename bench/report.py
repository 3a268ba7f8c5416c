"""bench/RESULTS.md: the tables, the ratios, the targets, the profiles, the scale curve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.load import Round, median
from bench.profiling import Profile
from bench.scale import ScalePoint

# The targets of issue 8 for the headline endpoint at the large scale.
WARM_VS_REDIS = 0.75
COLD_VS_SQL = 1.0
DEEP_WITHIN = 1.3
WARM_P99_MS = 25.0


@dataclass
class Outcome:
    name: str
    title: str
    server: str
    rounds: list[Round] = field(default_factory=list)
    unavailable: str | None = None
    distinct_requests: int = 0

    def med(self, value: Callable[[Round], float | None]) -> float | None:
        return median([value(result) for result in self.rounds])

    @property
    def rps(self) -> float | None:
        return self.med(lambda result: result.rps)

    def latency_ms(self, percentile: str) -> float | None:
        return self.med(lambda result: result.latency_us[percentile] / 1000)

    @property
    def errors(self) -> int:
        return sum(result.errors for result in self.rounds)

    @property
    def sql_per_request(self) -> float | None:
        return self.med(lambda result: result.sql_per_request)

    @property
    def hit_rate(self) -> float | None:
        return self.med(lambda result: result.hit_rate)

    @property
    def sql_ms_per_request(self) -> float | None:
        return self.med(lambda result: result.sql_ms_per_request)

    def cpu_ms(self, tree: str) -> float | None:
        return self.med(lambda result: result.cpu_ms_per_request(tree))


@dataclass
class ProfileResult:
    scenario: str
    profile: Profile | None
    error: str | None


@dataclass
class RunInfo:
    started: datetime
    argv: list[str]
    machine: dict[str, str]
    options: dict[str, Any]
    gunicorn: dict[str, Any]
    dataset: dict[str, int] = field(default_factory=dict)
    finished: datetime | None = None
    failure: str | None = None


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


@dataclass
class Target:
    name: str
    measured: str
    met: bool | None
    gap: str


def targets(by_name: dict[str, Outcome]) -> list[Target]:
    def get(name: str) -> Outcome | None:
        outcome = by_name.get(name)
        return outcome if outcome is not None and outcome.rounds else None

    found: list[Target] = []
    warm, ref_redis, cold, ref_sql, deep = (get(n) for n in ("warm", "ref_redis", "cold", "ref_sql", "deep"))

    def rps(outcome: Outcome | None) -> str:
        return _num(outcome.rps if outcome else None, 0)

    ratio = _ratio(warm.rps, ref_redis.rps) if warm and ref_redis else None
    found.append(
        Target(
            f"warm ≥ {WARM_VS_REDIS} x Redis reference (req/s)",
            f"{_num(ratio, 2)} ({rps(warm)} / {rps(ref_redis)})",
            None if ratio is None else ratio >= WARM_VS_REDIS,
            "" if ratio is None or ratio >= WARM_VS_REDIS else f"short by {(1 - ratio / WARM_VS_REDIS) * 100:.0f}%",
        )
    )
    ratio = _ratio(cold.rps, ref_sql.rps) if cold and ref_sql else None
    found.append(
        Target(
            f"cold ≥ {COLD_VS_SQL} x SQL reference (req/s)",
            f"{_num(ratio, 2)} ({rps(cold)} / {rps(ref_sql)})",
            None if ratio is None else ratio >= COLD_VS_SQL,
            "" if ratio is None or ratio >= COLD_VS_SQL else f"short by {(1 - ratio / COLD_VS_SQL) * 100:.0f}%",
        )
    )
    slower = _ratio(cold.rps, deep.rps) if cold and deep else None
    p50 = _ratio(deep.latency_ms("50"), cold.latency_ms("50")) if cold and deep else None
    found.append(
        Target(
            f"deep page within {DEEP_WITHIN} x page 1 (cold)",
            f"page 1 / last page req/s = {_num(slower, 2)}; last / page 1 p50 = {_num(p50, 2)}",
            None if slower is None else slower <= DEEP_WITHIN,
            ""
            if slower is None or slower <= DEEP_WITHIN
            else f"{slower:.2f}x slower (over by {slower - DEEP_WITHIN:.2f})",
        )
    )
    p99 = warm.latency_ms("99") if warm else None
    found.append(
        Target(
            f"warm p99 < {WARM_P99_MS:g} ms under this load",
            f"{_num(p99, 2)} ms",
            None if p99 is None else p99 < WARM_P99_MS,
            "" if p99 is None or p99 < WARM_P99_MS else f"over by {p99 - WARM_P99_MS:.1f} ms",
        )
    )
    return found


def _layers(profile: Profile | None, count: int = 3) -> str:
    if profile is None or not profile.layers:
        return ""
    top = ", ".join(f"{layer} {share:.0%}" for layer, share in profile.layers[:count])
    return f"; its Python time by layer: {top}"


def what_costs_it(by_name: dict[str, Outcome], profiles: dict[str, Profile | None]) -> list[str]:
    """One sentence per pair (Brisk, reference): CPU per request on each side, and where
    Brisk's Python time goes."""
    found: list[str] = []
    pairs = (("warm", "ref_redis", "the Redis reference"), ("cold", "ref_sql", "the SQL reference"))
    for name, ref_name, ref_title in pairs:
        ours, ref = by_name.get(name), by_name.get(ref_name)
        if not (ours and ref and ours.rounds and ref.rounds):
            continue
        app, ref_app = ours.cpu_ms("app"), ref.cpu_ms("app")
        db, ref_db = ours.cpu_ms("postgres"), ref.cpu_ms("postgres")
        if app is None or ref_app is None:
            continue
        sentence = (
            f"**{name}**: Brisk's workers spend {app:.2f} ms of CPU per request, {ref_title}'s {ref_app:.2f} ms "
            f"({app / ref_app:.1f}x)"
            if ref_app
            else f"**{name}**: Brisk's workers spend {app:.2f} ms of CPU per request"
        )
        if db is not None and ref_db is not None and (db > 0.05 or ref_db > 0.05):
            sentence += (
                f"; PostgreSQL spends {db:.2f} ms for Brisk's {_num(ours.sql_per_request, 2)} statements "
                f"against {ref_db:.2f} ms for the reference's {_num(ref.sql_per_request, 2)}"
            )
        found.append(sentence + _layers(profiles.get(name)) + ".")
    return found


def profile_candidates(by_name: dict[str, Outcome], *, always: bool) -> list[str]:
    """The headline scenarios whose target is missed; with `always`, every Brisk scenario."""
    measured = [name for name, outcome in by_name.items() if outcome.rounds and not outcome.server.startswith("ref")]
    if always:
        return measured
    # Target names start with the scenario they judge: "warm ...", "cold ...", "deep ...".
    missed = {target.name.split()[0] for target in targets(by_name) if target.met is False}
    return [name for name in measured if name in missed]


def _verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def render(
    info: RunInfo,
    outcomes: list[Outcome],
    profiles: list[ProfileResult],
    points: list[ScalePoint],
    explained: dict[str, Any] | None,
    *,
    plot: str,
    partial: bool,
) -> str:
    by_name = {outcome.name: outcome for outcome in outcomes}
    lines: list[str] = []
    add = lines.append
    minutes = (info.finished - info.started).total_seconds() / 60 if info.finished else 0
    add("# Benchmark results" + (" (partial run)" if partial else ""))
    add("")
    add(
        f"Measured on {info.started:%Y-%m-%d %H:%M} UTC by `{' '.join(info.argv)}` (what `make bench` runs), "
        f"{minutes:.1f} minutes. Written by bench/run.py: edit the code, not this file."
    )
    add("")
    if info.failure:
        add(f"**The run failed** ({info.failure}); what it measured before that is below.")
        add("")
    add(
        "These machines are noisy: 2 cores shared by wrk, Gunicorn, PostgreSQL and Redis (and, "
        "while the project is being built, other engineers' test runs). Absolute numbers move "
        "from run to run; the ratios are measured in one run, with the scenarios interleaved "
        f"round by round, and every figure is the median of {info.options['rounds']} rounds."
    )
    add("")
    add("## Machine and set-up")
    add("")
    m = info.machine
    add("| cores | memory | CPU | kernel | Python | code | load average (1, 5, 15 min) at start / end |")
    add("|---|---|---|---|---|---|---|")
    add(
        f"| {m['cores']} | {m['memory']} | {m['cpu']} | {m['kernel']} | {m['python']} | {m.get('code', '?')} "
        f"| {m['load_at_start']} / {m.get('load_at_end', '?')} |"
    )
    add("")
    if info.dataset:
        add(
            f"- **Data**: `seed_demo --size {info.options['size']}` in the bench's own PostgreSQL: "
            + ", ".join(f"{count:,} {table}" for table, count in info.dataset.items())
            + "."
        )
    g = info.gunicorn
    add(
        f"- **Brisk**: `gunicorn -c gunicorn_config.py config.wsgi`, `config.settings.production`, worker class "
        f"`{g.get('worker_class')}`, {g.get('workers')} workers x {g.get('threads')} threads, preload "
        f"{g.get('preload_app')}, max_requests {g.get('max_requests')}, access log on. Plain HTTP "
        "(`SECURE_SSL_REDIRECT=false`: TLS ends at the proxy). Two instances: catalogue cache on (`brisk`) "
        "and `CATALOGUE_CACHE_ENABLED=false` (`brisk_cold`)."
    )
    add(
        "- **References** (bench/ref_sql.py, bench/ref_redis.py): bare WSGI functions served by the same "
        "`gunicorn -c gunicorn_config.py`, so the same workers, threads and worker class."
    )
    o = info.options
    add(
        f"- **Load**: wrk -t{o['threads']} -c{o['connections']}, {o['warmup']:g} s warm-up per scenario, then "
        f"{o['rounds']} rounds x {o['duration']:g} s, scenarios interleaved within each round. SQL statements per "
        "request are counted by PostgreSQL (`pg_stat_statements`, reset before each round, every statement "
        "including BEGIN/COMMIT and health checks, divided by the answers). Cache hit rate = X-Cache hit / "
        "(hit + miss), counted by the wrk Lua script. Errors = answers other than 2xx/3xx plus socket "
        "errors, summed over the rounds."
    )
    add(
        "- **PostgreSQL 15**: shared_buffers 1GB, effective_cache_size 8GB, work_mem 16MB, random_page_cost 1.1, "
        "jit off, fsync and synchronous_commit on (harness/postgres.py, BENCH_SETTINGS)."
    )
    add("")
    add("## Scenarios")
    add("")
    add("| scenario | server | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | cache hits |")
    add("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for outcome in outcomes:
        if outcome.unavailable is not None:
            add(f"| {outcome.title} | {outcome.server} | not available: {outcome.unavailable} | | | | | | |")
            continue
        add(
            f"| {outcome.title} | {outcome.server} | {_num(outcome.rps, 0)} | {_num(outcome.latency_ms('50'), 2)} "
            f"| {_num(outcome.latency_ms('95'), 2)} | {_num(outcome.latency_ms('99'), 2)} | {outcome.errors} "
            f"| {_num(outcome.sql_per_request, 2)} | {_pct(outcome.hit_rate)} |"
        )
    add("")
    measured = [outcome for outcome in outcomes if outcome.rounds]
    if measured:
        add("### CPU per request")
        add("")
        add(
            "CPU time is steadier than latency on a shared machine: a request costs about the same CPU whether "
            "or not it waited for a core. User + system time of each process tree over each round (/proc: the "
            "Gunicorn master and its workers, PostgreSQL's postmaster and its backends, Redis, wrk), divided by "
            "the answers; medians of the rounds. SQL ms = execution time PostgreSQL recorded "
            "(`pg_stat_statements.total_exec_time`). With 2 cores, 2,000 / total is the req/s this CPU cost "
            "allows at best."
        )
        add("")
        add("| scenario | app | PostgreSQL | (SQL execution) | Redis | wrk | total | 2,000 / total |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|")
        for outcome in measured:
            parts = [outcome.cpu_ms(tree) for tree in ("app", "postgres", "redis", "wrk")]
            total = sum(part for part in parts if part is not None) if any(p is not None for p in parts) else None
            ceiling = 2000 / total if total else None
            sql_ms = _num(outcome.sql_ms_per_request, 2)
            add(
                f"| {outcome.title} | {_num(parts[0], 2)} | {_num(parts[1], 2)} | {sql_ms} "
                f"| {_num(parts[2], 2)} | {_num(parts[3], 2)} | {_num(total, 2)} | {_num(ceiling, 0)} |"
            )
        add("")
    ref_redis, ref_sql = by_name.get("ref_redis"), by_name.get("ref_sql")
    if any(o.rounds for o in (ref_redis, ref_sql) if o is not None):
        add("### Brisk's req/s as a ratio to each reference")
        add("")
        add("| scenario | ÷ Redis reference | ÷ SQL reference |")
        add("|---|---:|---:|")
        for outcome in outcomes:
            if outcome.rounds and not outcome.server.startswith("ref"):
                to_redis = _ratio(outcome.rps, ref_redis.rps) if ref_redis and ref_redis.rounds else None
                to_sql = _ratio(outcome.rps, ref_sql.rps) if ref_sql and ref_sql.rounds else None
                add(f"| {outcome.title} | {_num(to_redis, 2)} | {_num(to_sql, 2)} |")
        add("")
    add(f"## Targets (headline endpoint, {info.options['size']} data set)")
    add("")
    add("| target | measured | verdict | gap |")
    add("|---|---|---|---|")
    for target in targets(by_name):
        add(f"| {target.name} | {target.measured} | {_verdict(target.met)} | {target.gap} |")
    add("")
    costs = what_costs_it(by_name, {profiled.scenario: profiled.profile for profiled in profiles})
    if costs:
        add("What costs it, from the CPU table and the profiles below:")
        add("")
        lines.extend(f"- {cost}" for cost in costs)
        add("")
    mixed = by_name.get("mixed")
    if mixed is not None and mixed.rounds:
        add("### Mixed scenario: answers by kind of request (all rounds)")
        add("")
        add("| request | answers | share | not 2xx/3xx |")
        add("|---|---:|---:|---:|")
        totals: dict[str, int] = {}
        failed: dict[str, int] = {}
        for result in mixed.rounds:
            for label, count in result.labels.items():
                totals[label] = totals.get(label, 0) + count
            for label, count in result.label_errors.items():
                failed[label] = failed.get(label, 0) + count
        everything = sum(totals.values()) or 1
        for label in sorted(totals):
            add(f"| {label} | {totals[label]:,} | {totals[label] / everything:.1%} | {failed.get(label, 0):,} |")
        statuses: dict[str, int] = {}
        for result in mixed.rounds:
            for status, count in result.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        add("")
        add("Statuses: " + ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items())) + ".")
        add("")
    if profiles:
        add("## Where the Python time goes (py-spy on every worker under the scenario's load)")
        add("")
        for profiled in profiles:
            add(f"### {by_name[profiled.scenario].title}")
            add("")
            if profiled.profile is None:
                add(f"Not profiled: {profiled.error}")
                add("")
                continue
            profile = profiled.profile
            add(
                f"{profile.samples:,} samples at 250 Hz of threads holding the GIL (Python at work; waits on "
                f"PostgreSQL, Redis or the client release it), {profile.idle:.0%} more left out as waits for work. "
                f"Raw stacks: bench/out/profiles/{profile.raw_path.name}."
            )
            add("")
            add("| layer (frame on top of the stack) | share |")
            add("|---|---:|")
            for layer, share in profile.layers:
                add(f"| {layer} | {share:.1%} |")
            add("")
            add("| function, with what it calls (request plumbing left out) | share |")
            add("|---|---:|")
            for name, share in profile.inclusive:
                add(f"| `{name}` | {share:.1%} |")
            add("")
            add("| Brisk function nearest the top of the stack | share |")
            add("|---|---:|")
            for name, share in profile.brisk:
                add(f"| `{name}` | {share:.1%} |")
            add("")
            add("| function on top of the stack (self) | share |")
            add("|---|---:|")
            for name, share in profile.leaves[:10]:
                add(f"| `{name}` | {share:.1%} |")
            add("")
    if points:
        add("## Scale curve")
        add("")
        add(f"![latency against data size]({plot})")
        add("")
        add(
            "Single-request latency of `GET /programmes/?page=1&page_size=10`: the median (and p90) of "
            f"{info.options['scale_requests']} sequential requests over keep-alive after 20 untimed ones, "
            "on one Gunicorn worker per size and cache setting, all six up at once and taking turns (batches of "
            'requests), each size in its own database. Cold: catalogue cache off. "In the app" and "in SQL" '
            "are medians of Brisk's own `Server-Timing` header (SERVER_TIMING=true): the time from its first "
            "middleware to the response, and the part spent executing SQL; the rest of the client's time is "
            "Gunicorn, the socket and the client."
        )
        add("")
        add(
            "| size | programmes | enrollments | cold median ms | cold p90 ms | cold: in the app / in SQL ms "
            "| warm median ms | warm p90 ms | warm: in the app ms |"
        )
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for point in points:
            c, w = point.cold, point.warm
            add(
                f"| {point.size} | {point.programmes:,} | {point.enrollments:,} | {c.median:.2f} | {c.p90:.2f} "
                f"| {_num(c.app_median, 2)} / {_num(c.db_median, 2)} | {w.median:.2f} | {w.p90:.2f} "
                f"| {_num(w.app_median, 2)} |"
            )
        if len(points) > 1:
            first, last = points[0], points[-1]
            growth = last.enrollments / first.enrollments if first.enrollments else 0
            add("")
            cold_growth = last.cold.median / first.cold.median
            warm_growth = last.warm.median / first.warm.median
            add(
                f"From {first.size} to {last.size} the data grows {growth:,.0f}x; the cold median moves "
                f"{cold_growth:.2f}x, the warm median {warm_growth:.2f}x."
            )
        add("")
    add("## The figures each earlier choice rested on")
    add("")
    add(
        "- **Worker class and connection reuse**: measured by bench/serving.py, results in "
        "[bench/serving.md](serving.md) (kept by the serving work, not by this harness)."
    )
    warm, cold = by_name.get("warm"), by_name.get("cold")
    if warm and cold and warm.rounds and cold.rounds:
        add(
            f"- **Catalogue cache**: the same page warm {_num(warm.rps, 0)} req/s "
            f"(p99 {_num(warm.latency_ms('99'), 1)} ms, {_num(warm.sql_per_request, 2)} SQL/req) against cold "
            f"{_num(cold.rps, 0)} req/s (p99 {_num(cold.latency_ms('99'), 1)} ms, "
            f"{_num(cold.sql_per_request, 2)} SQL/req), in this run."
        )
    bare = (explained or {}).get("bare_pages", {})
    programme_plans = {
        spec: entry["explained"][-1]
        for spec, entry in (explained or {}).get("paths", {}).items()
        if spec in bare and entry.get("explained")
    }
    if programme_plans:
        add(
            "- **Counters vs live aggregates**: the programme page's statement with its live aggregate "
            "subqueries against the same page without them (what reading stored counters would cost), "
            "EXPLAIN ANALYZE, median of 5 runs, cache off:"
        )
        add("")
        add("| page | with live aggregates ms | bare page ms | difference ms |")
        add("|---|---:|---:|---:|")
        for spec, plan in programme_plans.items():
            plain = bare[spec]["median_ms"]
            add(f"| `{spec}` | {plan['median_ms']:.2f} | {plain:.2f} | {plan['median_ms'] - plain:.2f} |")
        add("")
    if explained:
        add("## The SQL behind each read (EXPLAIN ANALYZE)")
        add("")
        add(
            "One request of each read scenario, sent through Django's test client with the production settings "
            "and the catalogue cache off, its statements captured and each SELECT explained (median execution "
            "time of 5 runs; plans below). Authenticated requests carry the demo account's JWT."
        )
        add("")
        add("| request | status | statements | SELECT | execution ms | planner cost | buffers hit / read |")
        add("|---|---:|---:|---|---:|---:|---:|")
        for spec, entry in explained["paths"].items():
            if "error" in entry:
                add(f"| `{spec}` | failed: {entry['error'][:150]} | | | | | |")
                continue
            if not entry["explained"]:
                add(f"| `{spec}` | {entry['status']} | {entry['statements']} | (none) | | | |")
            for index, plan in enumerate(entry["explained"]):
                head = f"`{spec}` | {entry['status']} | {entry['statements']}" if index == 0 else "| |"
                add(
                    f"| {head} | {index + 1}. {_statement_kind(plan['sql'])} | {plan['median_ms']:.2f} "
                    f"| {plan['total_cost']:,.0f} | {plan['shared_hit']:,} / {plan['shared_read']:,} |"
                )
        add("")
        planner_costs = [
            float(plan["total_cost"]) for entry in explained["paths"].values() for plan in entry.get("explained", [])
        ]
        if planner_costs:
            jit = (
                "those above it would be JIT-compiled on every request"
                if max(planner_costs) >= 100_000
                else "none of these would be JIT-compiled"
            )
            add(
                f"Highest planner cost {max(planner_costs):,.0f}. PostgreSQL's default `jit_above_cost` is "
                f"100,000: with JIT on (PostgreSQL's default; the bench's server has it off) {jit}."
            )
            add("")
        add("<details><summary>Statements and plans</summary>")
        add("")
        for spec, entry in explained["paths"].items():
            for plan in entry.get("explained", []):
                add(f"`{spec}`:")
                add("")
                add("```")
                add(plan["sql"][:3000])
                add("")
                add(plan["plan"])
                add("```")
                add("")
        add("</details>")
        add("")
    add("## Most frequent SQL per scenario (last round, calls per answer)")
    add("")
    for outcome in outcomes:
        if not outcome.rounds or not outcome.rounds[-1].top_sql:
            continue
        final = outcome.rounds[-1]
        shares = [
            f"{calls / max(final.answered, 1):.2f} x `{_statement_kind(query)}`"
            for calls, query in final.top_sql[:5]
            if calls / max(final.answered, 1) >= 0.005
        ]
        add(f"- **{outcome.name}**: " + ("; ".join(shares) or "none"))
    add("")
    add("## Commands")
    add("")
    add("```")
    add("make bench                                    # everything, writes this file and bench/scale.png")
    add(".venv/bin/python -m bench.run --help          # the options")
    add(".venv/bin/python -m bench.run --only warm,ref_redis --duration 5 --rounds 1   # a piece")
    add(".venv/bin/python -m bench.run --only scale --sizes small,medium")
    add("```")
    add("")
    return "\n".join(lines)


def _statement_kind(sql: str) -> str:
    """A short name for a statement: its verb and its main table (the first one named at
    the top level, outside any subquery)."""
    text = sql.replace('"', "").strip()
    verb = text.split(None, 1)[0].upper() if text else "?"
    depth = 0
    words: list[str] = []
    word = ""
    for char in text + " ":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth == 0 and not char.isspace() and char not in "()":
            word += char
        elif word:
            words.append(word)
            word = ""
    upper = [w.upper() for w in words]
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in upper[:-1]:
            table = words[upper.index(keyword) + 1].strip(",;")
            return f"{verb} {table}"
    return " ".join(text.split())[:40]  # no table: SELECT $1 (a health check), BEGIN, COMMIT...


def summary(outcomes: list[Outcome]) -> str:
    """The scenario table for the terminal."""
    lines = [f"{'scenario':14s} {'req/s':>8s} {'p50':>7s} {'p99':>8s} {'err':>5s} {'SQL/req':>7s} {'hits':>6s}"]
    for outcome in outcomes:
        if outcome.unavailable is not None:
            lines.append(f"{outcome.name:14s} not available: {outcome.unavailable}")
            continue
        lines.append(
            f"{outcome.name:14s} {_num(outcome.rps, 0):>8s} {_num(outcome.latency_ms('50'), 2):>7s} "
            f"{_num(outcome.latency_ms('99'), 2):>8s} {outcome.errors:>5d} {_num(outcome.sql_per_request, 2):>7s} "
            f"{_pct(outcome.hit_rate):>6s}"
        )
    return "\n".join(lines)
