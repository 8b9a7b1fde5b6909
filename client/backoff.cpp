#include "backoff.hpp"

#include <algorithm>

namespace feth::client {

Backoff::milliseconds Backoff::next(std::mt19937& rng)
{
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto wait = milliseconds(static_cast<long long>(static_cast<double>(nominal_.count()) * jitter(rng)));
    nominal_ = std::min(nominal_ * 2, cap_);
    ++attempts_;
    return std::clamp(wait, first_, cap_);
}

} // namespace feth::client
