"""A proposal checked on its way out: a short answer whole, a long one a sentence at a time as it is written (each
kept and streamed once verified, dropped when not; an unsupported first sentence refuses the answer)."""

import time
from collections.abc import Iterator

from rag.answer import steps
from rag.answer.citations import cite
from rag.answer.refusal import REFUSAL, Hesitation, is_refusal
from rag.answer.steps import By, Context, Plan, Reason, Reply, lap
from rag.answer.verify import Verifier


class Out:
    """What has been streamed: the answer's text may only grow at its end."""

    def __init__(self):
        self.sent = ""

    def to(self, text: str) -> Iterator[dict]:
        text = text.strip()
        if text != self.sent:
            assert text.startswith(self.sent), "streamed text the answer does not start with"
            yield {"type": "token", "text": text[len(self.sent):]}
            self.sent = text


class Check:
    """Verifying one proposal: whole, or a sentence at a time as it is written (kept, streamed, or dropped)."""

    def __init__(self, verifier: Verifier, plan: Plan, context: Context, hesitation: Hesitation, out: "Out",
                 timings: dict):
        self.verifier, self.plan, self.context = verifier, plan, context
        self.hesitation, self.out, self.timings = hesitation, out, timings
        self.kept: list[str] = []
        self.verdicts: list = []

    def _verify(self, text: str, citations):
        at = time.perf_counter()
        # The first claim also answers for the whole: do the passages hold an answer at all?
        verdict = steps.verify(self.verifier, self.plan, self.context, text, citations,
                               None if self.verdicts else self.hesitation)
        lap(self.timings, "verify_s", at)
        self.verdicts.append(verdict)
        return verdict

    def whole(self, text: str) -> Reply:
        citations = cite(text, self.context.passages)  # computed once: the judge reads them, the answer shows them
        verdict = self._verify(text, citations)
        if not verdict.supported:
            return Reply(REFUSAL, True, By.LOCAL, Reason.UNSUPPORTED, verdict.detail, self.hesitation,
                         support=verdict.score)
        return Reply(text, False, By.LOCAL, Reason.VERIFIED, verdict.detail, self.hesitation, verified=True,
                     support=verdict.score, citations=citations)

    def sentence(self, sentence: str):
        """Verify one sentence of a long answer: kept and streamed when supported; a refusal when it is the first
        and is not (the answer's core). A generator (it streams); returns the refusal or None."""
        if not sentence.strip():
            return None
        if is_refusal(sentence):  # first: the model's refusal; later: "the sources do not say more", no fact
            if self.verdicts:
                return None
            return Reply(REFUSAL, True, By.LOCAL, Reason.LOCAL_REFUSED, "the model said the sources do not answer",
                         self.hesitation)
        verdict = self._verify(sentence, cite(sentence, self.context.passages))
        if verdict.supported:
            self.kept.append(sentence)
            yield from self.out.to("".join(self.kept))
            return None
        if len(self.verdicts) == 1:
            return Reply(REFUSAL, True, By.LOCAL, Reason.UNSUPPORTED, f"its first sentence: {verdict.detail}",
                         self.hesitation, support=verdict.score)
        return None

    def kept_reply(self) -> Reply:
        if not self.verdicts:
            return Reply(REFUSAL, True, By.LOCAL, Reason.LOCAL_REFUSED, "the model wrote nothing", self.hesitation)
        dropped = len(self.verdicts) - len(self.kept)
        detail = self.verdicts[0].detail
        if dropped:
            detail += f"; {dropped} unsupported sentence{'s' * (dropped > 1)} left out"
        return Reply("".join(self.kept).strip(), False, By.LOCAL, Reason.VERIFIED, detail, self.hesitation,
                     verified=True, support=self.verdicts[0].score)
