// `hull images`: the images in the store, as podman lists them (REPOSITORY TAG IMAGE ID CREATED
// SIZE), as JSON, or as bare image IDs.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"
#include "images/catalog.hpp"
#include "images/reference.hpp"

#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <memory>
#include <set>

namespace hull::cli {
namespace {

struct ImagesFlags {
    std::string store;
    std::string format = "table";
    bool quiet = false;
    bool no_trunc = false;
};

struct Row {
    std::string repository, tag, id, created_text;
    int64_t created = 0;  // seconds since the epoch, 0 when unknown
    int64_t size = 0;
    const images::ImageRecord* rec = nullptr;
};

// The image's creation time from its config, else when hull recorded it.
int64_t created_of(const images::Store& store, const images::ImageRecord& rec) {
    if (auto text = store.read_blob(rec.config_digest); text)
        if (auto cfg = oci::parse_image_config(*text); cfg && !cfg->created.empty())
            if (auto t = parse_rfc3339(cfg->created)) return *t;
    return parse_rfc3339(rec.created).value_or(0);
}

Row row_of(const images::Store& store, const images::ImageRecord& rec, bool no_trunc) {
    Row r;
    r.rec = &rec;
    r.repository = "<none>";
    r.tag = "<none>";
    if (!rec.name.starts_with("@")) {
        if (auto ref = images::parse_reference(rec.name)) {
            r.repository = ref->name();
            if (!ref->tag.empty()) r.tag = ref->tag;
        } else {
            r.repository = rec.name;
        }
    }
    r.id = no_trunc ? rec.config_digest.str() : rec.config_digest.hex.substr(0, 12);
    r.created = created_of(store, rec);
    r.created_text = r.created ? human_age(static_cast<int64_t>(std::time(nullptr)) - r.created) : "<unknown>";
    r.size = images::unpacked_size(store, rec);
    return r;
}

std::string table(const std::vector<Row>& rows) {
    std::vector<std::vector<std::string>> cells = {{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
    for (const auto& r : rows) cells.push_back({r.repository, r.tag, r.id, r.created_text, human_size(r.size)});
    std::vector<size_t> width(5, 0);
    for (const auto& c : cells)
        for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
    std::string out;
    for (const auto& c : cells) {
        std::string line;
        for (size_t i = 0; i < c.size(); ++i) {
            line += c[i];
            if (i + 1 < c.size()) line.append(width[i] - c[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string json_output(const std::vector<Row>& rows) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : rows) {
        nlohmann::json names = nlohmann::json::array();
        if (!r.rec->name.starts_with("@")) names.push_back(r.rec->name);
        char when[32] = "";
        const std::time_t t = static_cast<std::time_t>(r.created);
        std::tm tm{};
        if (r.created && ::gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        arr.push_back({{"Id", r.rec->config_digest.hex},
                       {"Names", names},
                       {"Digest", r.rec->manifest_digest.str()},
                       {"Created", r.created},
                       {"CreatedAt", when},
                       {"Size", r.size}});
    }
    return arr.dump(4) + "\n";
}

Action setup(CLI::App& app) {
    auto f = std::make_shared<ImagesFlags>();
    add_store_option(app, f->store);
    app.add_option("--format", f->format, "table or json (default: table)");
    app.add_flag("-q,--quiet", f->quiet, "display only image IDs");
    app.add_flag("--no-trunc", f->no_trunc, "do not truncate image IDs");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 0, ArgCheck::exact));
        if (f->format != "table" && f->format != "json")
            return fail_msg(cat("invalid --format `", f->format, "` (want table or json)"));
        const images::Store store = HULL_TRY(open_store(f->store));
        const std::vector<images::ImageRecord> recs = HULL_TRY(store.list_images());
        std::vector<Row> rows;
        for (const auto& rec : recs) rows.push_back(row_of(store, rec, f->no_trunc));
        // Newest first, as podman lists them; by name within one time.
        std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.created > b.created; });
        if (f->quiet) {
            std::set<std::string> seen;
            std::string out;
            for (const auto& r : rows)
                if (seen.insert(r.id).second) out += r.id + "\n";
            write_stdout(out);
        } else if (f->format == "json") {
            write_stdout(json_output(rows));
        } else {
            write_stdout(table(rows));
        }
        return 0;
    };
}

}  // namespace

extern constinit const Command images_command = with_setup(kImagesEntry, setup);

}  // namespace hull::cli
