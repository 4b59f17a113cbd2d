"""Planning: the safest endoscopic trajectory to a target, and the reasons behind it."""
