"""Cases: findings become repair and outreach cases with Awaab's Law clocks."""
