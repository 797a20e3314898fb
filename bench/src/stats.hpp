// Order statistics over the samples of one metric.
#pragma once

#include <cstddef>
#include <vector>

namespace hull::bench {

struct Summary {
    std::size_t n = 0;
    double median = 0; // mean of the two middle samples when n is even
    double p90 = 0;    // nearest rank: the ceil(0.9 n)-th smallest sample
    double mean = 0;
    double min = 0;
    double max = 0;
};

Summary summarize(std::vector<double> samples);

} // namespace hull::bench
