#include "report.hpp"

#include "stats.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

namespace hull::bench {

void Series::fail(const std::string& key, const std::string& message)
{
    ++failures[key];
    if (errors.size() < 8)
        errors.push_back(key + ": " + message);
}

std::vector<MetricDef> metric_defs(int sequential, int concurrent)
{
    std::string seq = std::to_string(sequential);
    std::string par = std::to_string(concurrent);
    std::vector<MetricDef> defs = {
        {"run_ms", "run /bin/true", "wall time (ms)", Unit::ms,
         "wall time of one `run` of /bin/true, from fork of the runtime to its reaping"},
        {"create_ms", "create", "wall time (ms)", Unit::ms, "wall time of `create`"},
        {"start_ms", "start", "wall time (ms)", Unit::ms,
         "wall time of `start` of the created container (payload /bin/true)"},
        {"delete_ms", "delete", "wall time (ms)", Unit::ms,
         "wall time of `delete` once the container has stopped"},
        {"split_total_ms", "create+start+delete", "wall time (ms)", Unit::ms,
         "sum of the three commands above, same sample"},
        {"seq_total_ms", seq + " sequential runs, total", "wall time (ms)", Unit::ms,
         "wall time of " + seq + " back-to-back `run`s of /bin/true"},
        {"par_total_ms", par + " concurrent runs, total", "wall time (ms)", Unit::ms,
         "wall time from starting " + par + " `run`s at once until the last one is reaped"},
        {"run_cpu_ms", "run /bin/true", "CPU time, user+sys (ms)", Unit::ms,
         "ru_utime + ru_stime from wait4 of `run`: the runtime and every descendant it reaped; "
         "less sensitive than wall time to other load on the host"},
        {"run_rss_kib", "run: runtime + reaped children", "peak RSS (MiB)", Unit::kib,
         "wait4 ru_maxrss of `run`: the largest peak resident set among the runtime process "
         "and every descendant it reaped, container init included"},
        {"run_tree_rss_kib", "run: whole tree (subreaper)", "peak RSS (MiB)", Unit::kib,
         "as run_rss_kib, plus any process that outlived the runtime (reaped by a subreaper "
         "helper); equal to run_rss_kib unless the runtime leaves processes behind"},
        {"create_rss_kib", "create", "peak RSS (MiB)", Unit::kib,
         "wait4 ru_maxrss of `create` (the container init stays alive, so it is not in here)"},
        {"init_rss_kib", "container init (pre-exec)", "peak RSS (MiB)", Unit::kib,
         "ru_maxrss of the container's init process after create/start, reaped by the bench: "
         "the runtime's in-container side before it exec'd the payload"},
        {"start_rss_kib", "start", "peak RSS (MiB)", Unit::kib, "wait4 ru_maxrss of `start`"},
        {"delete_rss_kib", "delete", "peak RSS (MiB)", Unit::kib, "wait4 ru_maxrss of `delete`"},
    };
    return defs;
}

namespace {

const Series* find_series(const Report& report, const std::string& name)
{
    for (const auto& s : report.runtimes)
        if (s.name == name)
            return &s;
    return nullptr;
}

double display(double value, Unit unit) { return unit == Unit::kib ? value / 1024.0 : value; }

std::string fmt_num(double v)
{
    char buf[32];
    if (std::fabs(v) < 10)
        std::snprintf(buf, sizeof buf, "%.2f", v);
    else if (std::fabs(v) < 1000)
        std::snprintf(buf, sizeof buf, "%.1f", v);
    else
        std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

// The baseline's median for a metric, or NaN when there is none to divide by.
double baseline_median(const Report& report, const std::string& key)
{
    const Series* base = find_series(report, report.baseline);
    if (!base)
        return NAN;
    auto it = base->samples.find(key);
    if (it == base->samples.end() || it->second.empty())
        return NAN;
    double m = summarize(it->second).median;
    return m > 0 ? m : NAN;
}

std::string json_escape(const std::string& s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string json_num(double v)
{
    if (!std::isfinite(v))
        return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    // Trim trailing zeros so integers such as KiB stay readable.
    std::string s = buf;
    while (s.back() == '0')
        s.pop_back();
    if (s.back() == '.')
        s.pop_back();
    return s;
}

void json_series(std::string& j, const Report& report, const Series& s, const std::string& indent)
{
    j += "{\n";
    j += indent + "  \"path\": " + json_escape(s.path) + ",\n";
    j += indent + "  \"version\": " + json_escape(s.version) + ",\n";
    j += indent + "  \"skipped\": " + (s.skip_reason.empty() ? "null" : json_escape(s.skip_reason)) + ",\n";
    j += indent + "  \"orphans_reaped\": " + std::to_string(s.orphans) + ",\n";
    j += indent + "  \"leftover_states_after_run\": " + std::to_string(s.leftover_states) + ",\n";
    j += indent + "  \"errors\": [";
    for (size_t i = 0; i < s.errors.size(); ++i)
        j += (i ? ", " : "") + json_escape(s.errors[i]);
    j += "],\n";
    j += indent + "  \"results\": {";
    bool first = true;
    for (const auto& def : report.metrics) {
        auto it = s.samples.find(def.key);
        auto fit = s.failures.find(def.key);
        int failures = fit == s.failures.end() ? 0 : fit->second;
        if (it == s.samples.end() && failures == 0)
            continue;
        std::vector<double> samples = it == s.samples.end() ? std::vector<double> {} : it->second;
        Summary sum = summarize(samples);
        double base = baseline_median(report, def.key);
        j += first ? "\n" : ",\n";
        first = false;
        j += indent + "    " + json_escape(def.key) + ": {";
        j += "\"unit\": " + json_escape(def.unit == Unit::ms ? "ms" : "KiB");
        j += ", \"n\": " + std::to_string(sum.n) + ", \"failures\": " + std::to_string(failures);
        if (sum.n) {
            j += ", \"median\": " + json_num(sum.median) + ", \"p90\": " + json_num(sum.p90);
            j += ", \"mean\": " + json_num(sum.mean) + ", \"min\": " + json_num(sum.min);
            j += ", \"max\": " + json_num(sum.max);
            if (&s != &report.floor)
                j += ", \"ratio_to_baseline\": " + json_num(sum.median / base);
        }
        j += ", \"samples\": [";
        for (size_t i = 0; i < samples.size(); ++i)
            j += (i ? ", " : "") + json_num(samples[i]);
        j += "]}";
    }
    j += "\n" + indent + "  }\n" + indent + "}";
}

} // namespace

void print_table(const Report& report, std::FILE* out)
{
    std::vector<const Series*> shown;
    for (const auto& s : report.runtimes)
        if (s.skip_reason.empty())
            shown.push_back(&s);

    std::fprintf(out, "\nhull bench: %d rounds%s, runtimes interleaved with the order rotated every round\n",
                 report.rounds_done, report.interrupted ? " (interrupted)" : "");
    std::fprintf(out, "cells: median, p90, and x%s = median / %s's median (below 1: smaller or faster than %s)\n",
                 report.baseline.c_str(), report.baseline.c_str(), report.baseline.c_str());
    for (const auto& [key, value] : report.meta)
        std::fprintf(out, "%s: %s\n", key.c_str(), value.c_str());

    const int label_w = 32;
    const int cell_w = 26;
    std::fprintf(out, "\n%-*s", label_w, "");
    for (const Series* s : shown)
        std::fprintf(out, "%*s%-*s", 4, "", cell_w - 4, s->name.c_str());
    std::fprintf(out, "\n%-*s", label_w, "");
    std::string ratio_head = "x" + report.baseline;
    if (ratio_head.size() > 6)
        ratio_head.resize(6);
    for (size_t i = 0; i < shown.size(); ++i)
        std::fprintf(out, "%9s%9s%8s", "median", "p90", ratio_head.c_str());
    std::fprintf(out, "\n");

    std::string group;
    for (const auto& def : report.metrics) {
        bool any = false;
        for (const Series* s : shown)
            any = any || s->samples.count(def.key) || s->failures.count(def.key);
        if (!any)
            continue;
        if (def.group != group) {
            group = def.group;
            std::fprintf(out, "%s\n", group.c_str());
        }
        std::fprintf(out, "  %-*s", label_w - 2, def.label.c_str());
        double base = baseline_median(report, def.key);
        for (const Series* s : shown) {
            auto it = s->samples.find(def.key);
            auto fit = s->failures.find(def.key);
            int failures = fit == s->failures.end() ? 0 : fit->second;
            if (it == s->samples.end() || it->second.empty()) {
                std::fprintf(out, "%*s", cell_w, failures ? "failed" : "-");
                continue;
            }
            Summary sum = summarize(it->second);
            std::string ratio = std::isfinite(base) ? fmt_num(sum.median / base) : "-";
            if (failures)
                ratio += "!";
            std::fprintf(out, "%9s%9s%8s", fmt_num(display(sum.median, def.unit)).c_str(),
                         fmt_num(display(sum.p90, def.unit)).c_str(), ratio.c_str());
        }
        std::fprintf(out, "\n");
    }

    const Series& f = report.floor;
    auto median_of = [&](const char* key) {
        auto it = f.samples.find(key);
        return it == f.samples.end() ? NAN : summarize(it->second).median;
    };
    if (f.samples.count("run_ms"))
        std::fprintf(out,
                     "floor: bare static `%s`, spawned and measured the same way: wall %s ms, CPU %s ms, peak RSS %s MiB (medians)\n",
                     f.path.c_str(), fmt_num(median_of("run_ms")).c_str(), fmt_num(median_of("run_cpu_ms")).c_str(),
                     fmt_num(median_of("run_rss_kib") / 1024).c_str());

    for (const auto& s : report.runtimes) {
        if (!s.skip_reason.empty())
            std::fprintf(out, "skipped %s: %s\n", s.name.c_str(), s.skip_reason.c_str());
        if (s.skip_reason.empty() && s.version.size())
            std::fprintf(out, "%s: %s (%s)\n", s.name.c_str(), s.version.c_str(), s.path.c_str());
        for (const auto& [key, n] : s.failures)
            std::fprintf(out, "%s: %d failed sample(s) of %s (marked !)\n", s.name.c_str(), n, key.c_str());
        for (const auto& e : s.errors)
            std::fprintf(out, "  %s: %s\n", s.name.c_str(), e.c_str());
        if (s.orphans)
            std::fprintf(out, "%s: %d process(es) outlived `run` and were reaped by the bench\n",
                         s.name.c_str(), s.orphans);
        if (s.leftover_states)
            std::fprintf(out, "%s: `run` left container state behind %d time(s)\n", s.name.c_str(),
                         s.leftover_states);
    }
}

std::string write_json(const Report& report, const std::string& path)
{
    std::string j = "{\n";
    j += "  \"schema\": \"hull-bench/1\",\n";
    char date[64];
    std::time_t t = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    j += "  \"date\": " + json_escape(date) + ",\n";
    j += "  \"interrupted\": " + std::string(report.interrupted ? "true" : "false") + ",\n";
    j += "  \"config\": {\"rounds\": " + std::to_string(report.rounds) +
         ", \"rounds_done\": " + std::to_string(report.rounds_done) +
         ", \"sequential_runs\": " + std::to_string(report.sequential) +
         ", \"concurrent_runs\": " + std::to_string(report.concurrent) +
         ", \"timeout_ms\": " + json_num(report.timeout_ms) + ", \"bundle\": " + json_escape(report.bundle) +
         ", \"order\": \"interleaved: each round runs every runtime in turn, order rotated by one each round\"},\n";
    j += "  \"host\": {";
    for (size_t i = 0; i < report.meta.size(); ++i)
        j += (i ? ", " : "") + json_escape(report.meta[i].first) + ": " + json_escape(report.meta[i].second);
    j += "},\n";
    j += "  \"baseline\": " + json_escape(report.baseline) + ",\n";
    j += "  \"metrics\": {";
    for (size_t i = 0; i < report.metrics.size(); ++i) {
        const auto& d = report.metrics[i];
        j += (i ? ",\n    " : "\n    ") + json_escape(d.key) + ": {\"unit\": " +
             json_escape(d.unit == Unit::ms ? "ms" : "KiB") + ", \"label\": " + json_escape(d.label) +
             ", \"meaning\": " + json_escape(d.meaning) + "}";
    }
    j += "\n  },\n";
    j += "  \"runtimes\": {";
    for (size_t i = 0; i < report.runtimes.size(); ++i) {
        j += (i ? ",\n    " : "\n    ") + json_escape(report.runtimes[i].name) + ": ";
        json_series(j, report, report.runtimes[i], "    ");
    }
    j += "\n  },\n";
    j += "  \"floor\": ";
    json_series(j, report, report.floor, "  ");
    j += "\n}\n";

    std::FILE* f = std::fopen(path.c_str(), "we");
    if (!f)
        return "open `" + path + "`: " + std::strerror(errno);
    bool ok = std::fwrite(j.data(), 1, j.size(), f) == j.size();
    ok = std::fclose(f) == 0 && ok;
    return ok ? "" : "write `" + path + "`: " + std::strerror(errno);
}

} // namespace hull::bench
