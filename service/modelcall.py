"""What an endpoint needs to call the model for a learner and wait for the answer: who
asks, the database, the model, the limits passed, and a hold on the server's shutdown
while the call runs. (A streamed answer needs more: `tutor.responding.TurnContext`.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import SessionDep
from service.inflight import InFlight, InFlightDep, InFlightStateDep
from service.learners.auth import CurrentLearner
from service.learners.models import Learner
from service.limits.service import ModelCallAllowed
from service.llm.model import LLMDep, Model


class ModelCallContext:
    def __init__(
        self,
        learner: CurrentLearner,
        db: SessionDep,
        llm: LLMDep,
        _allowed: ModelCallAllowed,
        _in_flight: InFlightDep,
        in_flight: InFlightStateDep,
    ) -> None:
        self.learner: Learner = learner
        self.db: AsyncSession = db
        self.llm: Model = llm
        self.in_flight: InFlight = in_flight


ModelCallDep = Annotated[ModelCallContext, Depends()]
