// What the bench measured, and the two ways it is shown: a table for people and a JSON
// summary for tools.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hull::bench {

enum class Unit { ms, kib };

struct MetricDef {
    std::string key;   // JSON key, also the key into Series::samples
    std::string label; // table row
    std::string group; // table section
    Unit unit;
    std::string meaning; // one sentence for the JSON reader
};

// Samples of every metric for one runtime, or for the bare `true` floor.
struct Series {
    std::string name;
    std::string path;
    std::string version;
    std::string skip_reason; // non-empty: not measured
    std::map<std::string, std::vector<double>> samples;
    std::map<std::string, int> failures;
    std::vector<std::string> errors; // the first few failure messages
    int orphans = 0;          // processes that outlived `run` and were reaped by the bench
    int leftover_states = 0;  // `run` returned but left state behind (force-deleted)

    void add(const std::string& key, double value) { samples[key].push_back(value); }
    void fail(const std::string& key, const std::string& message);
};

struct Report {
    int rounds = 0;       // asked for
    int rounds_done = 0;  // fewer when interrupted
    bool interrupted = false;
    int sequential = 0;
    int concurrent = 0;
    double timeout_ms = 0;
    std::string bundle;
    std::string baseline; // series the ratios divide by
    std::vector<std::pair<std::string, std::string>> meta; // host facts, setup notes
    std::vector<MetricDef> metrics;
    std::vector<Series> runtimes; // in the order given on the command line
    Series floor;
};

std::vector<MetricDef> metric_defs(int sequential, int concurrent);

void print_table(const Report& report, std::FILE* out);

// Returns an empty string on success, else what went wrong.
std::string write_json(const Report& report, const std::string& path);

} // namespace hull::bench
