"""The forcing state machine on scripted token streams: exact expectations, then properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from s1kit import Budget
from s1kit.forcing.formats import FormatIds
from s1kit.forcing.state import ForcingPlan, ForcingState

# A toy vocabulary: 0 = EOS, 1 = special "<start>", 2 = "answer", 3..9 ordinary, 10/11 = a two-token
# custom stop "END" "THINK", 20 = "Wait", 21 = "Hmm", 30/31 = primer.
EOS, START = 0, 1
IDS = FormatIds(
    think_end=(START, 2),
    stop_seqs=((START,), (10, 11), (EOS,)),
    answer_stops=frozenset({EOS}),
    vocab_size=40,
)


def plan(**kw) -> ForcingPlan:
    b = Budget(**kw)
    ignore = tuple({"Wait": (20,), "Hmm": (21,), "Wait now": (20, 22)}[s] for s in b.ignore_strings)
    return ForcingPlan(b, IDS, ignore, (30, 31) if b.answer_primer else ())


def run_loop(p: ForcingPlan, script: list[int]) -> ForcingState:
    """Drive the state in-loop with a scripted sampler; the script repeats its last token."""
    s = ForcingState(p)
    it = iter(script)
    last = [script[-1]]

    def sample() -> int:
        t = next(it, last[0])
        return t

    for _ in range(1000):
        tok, _rb = s.choose(sample)
        if tok is None:
            break
    return s


def test_max_budget_forces_end_and_primer():
    s = run_loop(plan(max_thinking_tokens=3, max_answer_tokens=2), [5, 6, 7, 8, 9, 9, 9])
    assert s.span("think") == [5, 6, 7]
    assert s.tokens[3:7] == [START, 2, 30, 31]
    assert s.forced_end and s.thinking_tokens == 3
    assert s.span("answer") == [8, 9] and s.finish_reason == "length"
    assert [e.kind for e in s.events] == ["forced_end", "answer_limit"]
    assert s.events[0].position == 3 and s.events[0].text == "Final Answer:"


def test_num_ignore_replaces_stop_with_wait_then_ends_naturally():
    s = run_loop(
        plan(max_thinking_tokens=50, num_ignore=2, ignore_strings=["Wait", "Hmm"]),
        [5, EOS, 6, START, 7, EOS, 8, EOS],
    )
    assert s.span("think", "ignore") == [5, 20, 6, 21, 7]
    assert s.ignored_stops == 2 and not s.forced_end
    assert [e.text for e in s.events] == ["Wait", "Hmm"]
    assert [e.position for e in s.events] == [1, 3]
    assert s.tokens[5:7] == [START, 2]  # natural end: delimiter without primer
    assert s.span("answer") == [8] and s.finish_reason == "stop"


def test_min_budget_keeps_suppressing_until_reached():
    s = run_loop(plan(max_thinking_tokens=50, min_thinking_tokens=6), [EOS] * 10 + [9])
    # every stop below 6 thinking tokens becomes "Wait"; the 7th stop (at 6 tokens) ends thinking
    assert s.thinking_tokens == 6 and s.ignored_stops == 6
    assert s.span("ignore") == [20] * 6


def test_ignore_string_is_cut_by_the_max_budget():
    s = run_loop(plan(max_thinking_tokens=3, num_ignore=1, ignore_strings=["Wait now"]), [5, 6, EOS, 9])
    assert s.span("think", "ignore") == [5, 6, 20]  # "Wait now" cut after one token
    assert s.forced_end


def test_multi_token_stop_is_rolled_back():
    s = ForcingState(plan(max_thinking_tokens=50, num_ignore=1))
    out = [s.choose(lambda t=t: t) for t in (5, 10)]
    assert out == [(5, 0), (10, 0)]
    tok, rollback = s.choose(lambda: 11)  # completes "END THINK"
    assert (tok, rollback) == (20, 1)  # roll back the fed "END", feed "Wait"
    assert s.span("think", "ignore") == [5, 20] and s.ignored_stops == 1


def test_stop_tokens_after_an_ignore_string_do_not_match_across_it():
    s = ForcingState(plan(max_thinking_tokens=50, num_ignore=5))
    s.choose(lambda: 10)
    s.choose(lambda: EOS)  # ignored -> Wait (20) fed
    tok, rb = s.choose(lambda: 11)  # "11" follows "Wait", not "10": no stop
    assert (tok, rb) == (11, 0) and s.ignored_stops == 1


def test_round_by_round_replay_matches_loop():
    script = [5, 6, EOS, 7, START, 8, 9, 9, 9, 9, 9, 9]
    p = plan(max_thinking_tokens=6, num_ignore=1, max_answer_tokens=3)
    loop = run_loop(p, script)

    # A generate-until-stop "engine" over the same script: returns tokens up to and including a stop.
    rounds = ForcingState(p)
    it = iter(script)
    while not rounds.done:
        rounds.drain_forced()
        if rounds.done:
            break
        n = rounds.free_tokens()
        got: list[int] = []
        stops = rounds.stop_sequences()
        while len(got) < n:
            got.append(next(it, 9))
            if any(tuple(got[-len(q) :]) == q for q in stops):
                break
        rounds.feed_round(got, stopped=False)
    assert rounds.tokens == loop.tokens and rounds.roles == loop.roles
    assert rounds.events == loop.events


@settings(max_examples=300, deadline=None)
@given(
    mx=st.integers(0, 60),
    mn_frac=st.floats(0, 1),
    num_ignore=st.integers(0, 5),
    script=st.lists(st.sampled_from([EOS, START, 3, 4, 5, 10, 11]), min_size=1, max_size=120),
)
def test_thinking_always_lands_in_min_max(mx, mn_frac, num_ignore, script):
    mn = int(mx * mn_frac)
    s = run_loop(plan(max_thinking_tokens=mx, min_thinking_tokens=mn, num_ignore=num_ignore), script)
    assert s.done
    assert mn <= s.thinking_tokens <= mx
    assert s.thinking_tokens == len(s.span("think", "ignore"))
    assert s.ignored_stops <= max(num_ignore, 0) + mn + 1
    assert all(0 <= t < IDS.vocab_size for t in s.tokens)
