import os

from hypothesis import Phase, settings

settings.register_profile("default", max_examples=50, deadline=None, derandomize=True)
settings.register_profile("slow", max_examples=200, deadline=None)
# scripts/mutation.sh: a failing example is enough to kill a mutant, and shrinking it (hundreds
# of further calls) would outlast mutmut's per-mutant timeout
settings.register_profile("mutation", parent=settings.get_profile("default"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
