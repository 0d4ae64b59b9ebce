"""A validated ``POST /otp/send-failover`` body as the send service takes it (``OtpAsk``)."""

from __future__ import annotations

from failover_otp.domain.statuses import Channel
from failover_otp.services.otp_requests import OtpAsk, OtpStepAsk
from failover_otp.web.otp_schemas import SendFailoverRequest, SmsStep, ViberOtpStep


def _step(step: ViberOtpStep | SmsStep) -> OtpStepAsk:
    echo = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(step, ViberOtpStep):
        return OtpStepAsk(
            channel=Channel.VIBER,
            to=step.to,
            order=step.order,
            ttl=step.ttl,
            echo=echo,
            label=step.label,
            pin=step.pin,
            failover_on_delivered=step.failoverOnDelivered,
        )
    return OtpStepAsk(
        channel=Channel.SMS,
        to=step.to,
        order=step.order,
        ttl=step.ttl,
        echo=echo,
        label=step.label,
        sms_body=step.message.body,
    )


def otp_ask(request: SendFailoverRequest) -> OtpAsk:
    return OtpAsk(
        steps=tuple(_step(step) for step in request.flow),
        callback_url=str(request.callback.url) if request.callback else None,
    )
