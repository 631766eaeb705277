"""What a SageMaker training job could cost, shown before it is launched.

The bound is instance-hours (instances × the longest run allowed) × the
on-demand price, plus the instances' disks and the uploaded data; SageMaker
bills by the second, so a job that ends sooner costs a fraction of it. Spot
capacity is cheaper by an amount AWS does not fix in advance: the estimate
assumes :data:`SPOT_SAVING`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kayfabe_core.sagemaker_settings import VOLUME_SIZE_GB, SageMakerSettings

# On-demand prices of SageMaker *training* instances in us-east-1, USD per instance-hour.
# Source: https://aws.amazon.com/sagemaker/pricing/ (On-Demand Pricing → Training), as listed there and in
# public price tables in 2024–2025; checked 2026-11. Other regions cost more or less; re-check before relying.
PRICE_SOURCE = "AWS SageMaker on-demand training prices for us-east-1 (aws.amazon.com/sagemaker/pricing, 2024–2025)"
PRICE_REGION = "us-east-1"
ON_DEMAND_USD_PER_HOUR: dict[str, float] = {
    "ml.m4.xlarge": 0.24, "ml.m4.2xlarge": 0.48, "ml.m4.4xlarge": 0.96,
    "ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461, "ml.m5.4xlarge": 0.922,
    "ml.m5.12xlarge": 2.765, "ml.m5.24xlarge": 5.53,
    "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408, "ml.c5.4xlarge": 0.816, "ml.c5.9xlarge": 1.836,
    "ml.c5.18xlarge": 3.672,
}
STORAGE_USD_PER_GB_MONTH = 0.14  # ML storage (general purpose SSD) of training instances
S3_USD_PER_GB_MONTH = 0.023  # S3 Standard, first 50 TB
SPOT_SAVING = 0.7  # spot usually saves 60-90 % (AWS: "up to 90 %"); an assumption, not a quote
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class CostEstimate:
    """The most a job may cost, by part, and one sentence saying so.

    ``compute_usd`` is on-demand (None when the instance type's price is not
    known); ``spot_usd`` the spot estimate (None without spot); ``total_usd``
    what the sentence leads with: spot or on-demand compute plus storage.
    """

    instance_type: str
    instance_count: int
    hours: float
    usd_per_hour: float | None
    compute_usd: float | None
    spot_usd: float | None
    storage_usd: float
    total_usd: float | None
    sentence: str

    @property
    def price_known(self) -> bool:
        return self.usd_per_hour is not None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "price_known": self.price_known}


def estimate_cost(settings: SageMakerSettings, upload_bytes: int = 0) -> CostEstimate:
    """Return the cost bound of training with ``settings`` on ``upload_bytes`` of data (no AWS call)."""
    count, hours = settings.instance_count, settings.max_runtime_s / 3600
    price = ON_DEMAND_USD_PER_HOUR.get(settings.instance_type)
    storage = (VOLUME_SIZE_GB * count * STORAGE_USD_PER_GB_MONTH * hours
               + upload_bytes / 1e9 * S3_USD_PER_GB_MONTH * 24) / HOURS_PER_MONTH  # S3: a day's keeping
    compute = None if price is None else price * count * hours
    spot = None if compute is None or not settings.spot else compute * (1 - SPOT_SAVING)
    total = None if compute is None else (spot if spot is not None else compute) + storage
    sentence = _sentence(settings, hours, price, compute, spot, storage)
    return CostEstimate(settings.instance_type, count, hours, price, _cents(compute), _cents(spot),
                        round(storage, 4), _cents(total), sentence)


def _sentence(settings: SageMakerSettings, hours: float, price: float | None, compute: float | None,
              spot: float | None, storage: float) -> str:
    machines = f"{settings.instance_count} × {settings.instance_type} for at most {_duration(hours)}"
    where = "" if settings.region in ("", PRICE_REGION) else f"; {settings.region} prices differ a little"
    extra = f"; disks and S3 storage add {_usd(storage)}" if storage >= 0.005 else "; storage adds under $0.01"
    if price is None or compute is None:
        return (f"The price of {settings.instance_type} is not in the app's table, so the cost of {machines} is "
                "unknown: check https://aws.amazon.com/sagemaker/pricing/ before launching" + extra + ".")
    if spot is not None:
        return (f"At most about {_usd(spot + storage)} with spot capacity ({machines}; on-demand it would be "
                f"{_usd(compute)} at {_usd(price, 3)} an hour in {PRICE_REGION}{where}; spot usually saves "
                f"60–90 %, {SPOT_SAVING * 100:.0f} % assumed{extra}). Billing is per second: a job that ends sooner "
                "costs less.")
    return (f"At most {_usd(compute + storage)}: {machines} at {_usd(price, 3)} an hour (on-demand, {PRICE_REGION}"
            f"{where}){extra}. Billing is per second: a job that ends sooner costs less.")


def _duration(hours: float) -> str:
    return f"{hours:g} h" if hours >= 1 else f"{hours * 60:.0f} min"


def _usd(amount: float, places: int = 2) -> str:
    return f"${amount:,.{places}f}" if amount >= 0.005 or places > 2 else "under $0.01"


def _cents(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 4)
