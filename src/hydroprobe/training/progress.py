"""Progress for people (tqdm bars on a terminal) and plain lines for CI logs."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


class ConsoleProgress:
    """A :class:`~hydroprobe.training.replicates.ReplicateObserver` that only reports."""

    def __init__(self, replicates: int, max_epochs: int, stream=None, step: str = "epoch"):
        self.stream = stream or sys.stderr
        self.step = step  # what one step is: an epoch, or one model evaluation of a calibration
        self.interactive = self.stream.isatty() and not os.environ.get("CI")
        self.max_epochs = max_epochs
        self.done = 0
        self.replicates = replicates
        self._bars: dict[int, tqdm] = {}
        self._overall = (
            tqdm(total=replicates, desc="replicates", position=0, file=self.stream)
            if self.interactive else None
        )

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        if reused:
            self._line(f"replicate seed {seed}: reused from cache")
            return
        if resumed_epoch:  # always a line: a resume is worth finding in a log later
            self._line(f"replicate seed {seed}: resumed from a checkpoint after {self.step} {resumed_epoch}")
        if self.interactive and self.replicates <= 8:  # one bar per replicate stays readable
            self._bars[seed] = tqdm(
                total=self.max_epochs, initial=resumed_epoch, desc=f"seed {seed}", leave=False,
                file=self.stream, position=1 + len(self._bars),
            )
        elif not resumed_epoch:
            self._line(f"replicate seed {seed}: {'calibrating' if self.step != 'epoch' else 'training'}")

    def epoch_finished(self, seed: int, epoch: int, train_loss: float, validation_loss: float) -> None:
        if seed in self._bars:
            self._bars[seed].update(1)
            self._bars[seed].set_postfix(train=f"{train_loss:.4g}", val=f"{validation_loss:.4g}")
        elif epoch % 10 == 0 or epoch == 1:
            self._line(f"  seed {seed} {self.step} {epoch}: train {train_loss:.5f} val {validation_loss:.5f}")

    def replicate_finished(self, outcome) -> None:
        self.done += 1
        bar = self._bars.pop(outcome.seed, None)
        if bar:
            bar.close()
        if self._overall:
            self._overall.update(1)
        v = outcome.metrics["validation"]
        self._line(
            f"replicate seed {outcome.seed} done ({self.done}/{self.replicates}): best {self.step} "
            f"{outcome.result.best_epoch}/{outcome.result.epochs_run}, validation NSE {v['nse']:.3f}"
        )

    def _line(self, text: str) -> None:
        if self.interactive:
            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)
