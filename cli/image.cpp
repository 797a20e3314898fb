// `hull image SUBCOMMAND`: podman's image command group. `inspect` and `prune` live here;
// `ls`, `rm`, `pull` and `import` are `images`, `rmi`, `pull` and `import` under another name.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"
#include "images/catalog.hpp"
#include "images/progress.hpp"
#include "images/reference.hpp"

#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <memory>

namespace hull::cli {
namespace {

using nlohmann::json;

// --- inspect ---------------------------------------------------------------------------------

json inspect_one(const images::Store& store, const images::ImageRecord& rec) {
    json config = json::object();
    if (auto text = store.read_blob(rec.config_digest); text) {
        json j = json::parse(*text, nullptr, false);
        if (!j.is_discarded()) config = std::move(j);
    }
    json layers = json::array();
    for (const auto& l : rec.layers)
        layers.push_back({{"Digest", l.blob.digest.str()},
                          {"MediaType", l.blob.media_type},
                          {"Size", l.blob.size},
                          {"DiffID", l.diff_id.str()},
                          {"ChainID", l.chain_id.str()}});
    json names = json::array();
    if (!rec.name.starts_with("@")) names.push_back(rec.name);
    std::string repo_digest = rec.manifest_digest.str();
    if (auto ref = images::parse_reference(rec.name); ref && !rec.name.starts_with("@"))
        repo_digest = cat(ref->name(), "@", rec.manifest_digest.str());
    json out = {
        {"Id", images::image_id(rec)},
        {"Name", rec.name},
        {"RepoTags", names},
        {"Digest", rec.manifest_digest.str()},
        {"RepoDigests", json::array({repo_digest})},
        {"IndexDigest", rec.index_digest ? json(rec.index_digest->str()) : json(nullptr)},
        {"ConfigDigest", rec.config_digest.str()},
        {"Created", config.value("created", "")},
        {"Architecture", config.value("architecture", "")},
        {"Os", config.value("os", "")},
        {"Config", config.value("config", json::object())},
        {"RootFS", config.value("rootfs", json::object())},
        {"Layers", layers},
        {"Size", images::unpacked_size(store, rec)},
        {"BlobSize", rec.size},
        {"Recorded", rec.created},
    };
    if (config.contains("variant")) out["Variant"] = config["variant"];
    return out;
}

struct InspectFlags {
    std::string store;
};

Action inspect_setup(CLI::App& app) {
    auto f = std::make_shared<InspectFlags>();
    add_store_option(app, f->store);
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        const images::Store store = HULL_TRY(open_store(f->store));
        json arr = json::array();
        for (const auto& token : ctx.args)
            for (const auto& rec : HULL_TRY(images::lookup_images(store, token))) arr.push_back(inspect_one(store, rec));
        write_stdout(arr.dump(4) + "\n");
        return 0;
    };
}

const Command inspect_command{
    "inspect", "show images' records and configs as JSON", "[command options] <image>...",
    "One JSON object per image: its name, manifest and index digests, image ID, the image\n"
    "config (Config, RootFS, Os, Architecture), layers (blob digest, media type, size, diff\n"
    "and chain IDs) and sizes (Size unpacked, BlobSize as stored).",
    inspect_setup,
};

// --- prune -----------------------------------------------------------------------------------

struct PruneFlags {
    std::string store;
    bool force = false;
};

Action prune_setup(CLI::App& app) {
    auto f = std::make_shared<PruneFlags>();
    add_store_option(app, f->store);
    // podman's flags; hull removes only what nothing reaches, so there is nothing to confirm.
    app.add_flag("-f,--force", f->force, "do not prompt (hull never does)");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 0, ArgCheck::exact));
        images::Store store = HULL_TRY(open_store(f->store));
        const images::GcStats st = HULL_TRY(store.gc());
        write_stdout(cat("Removed ", st.blobs_removed, st.blobs_removed == 1 ? " blob" : " blobs", " and ",
                         st.layers_removed, st.layers_removed == 1 ? " layer" : " layers", ", freed ",
                         images::format_size(static_cast<int64_t>(st.bytes_freed)), "\n"));
        return 0;
    };
}

const Command prune_command{
    "prune", "free the blobs and layers no image or container uses", "[command options]",
    "The store's garbage collection: removes every blob and unpacked layer that no image\n"
    "record or container pin reaches, and what interrupted pulls left in its tmp/. Waits for\n"
    "pulls and imports in progress. Prints what it freed.",
    prune_setup,
};

// --- the group -------------------------------------------------------------------------------

struct Sub {
    const char* name;
    const Command* command;
};

const Sub kSubs[] = {
    {"inspect", &inspect_command}, {"prune", &prune_command},   {"ls", &images_command},
    {"list", &images_command},     {"rm", &rmi_command},        {"pull", &pull_command},
    {"import", &import_command},
};

std::string lowercase_first(std::string s) {
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s;
}

// Help in the layout of the top-level commands' (main.cpp): our head, then CLI11's options.
class SubHelp : public CLI::Formatter {
public:
    explicit SubHelp(std::string head) : head_(std::move(head)) {}
    std::string make_description(const CLI::App*) const override { return {}; }
    std::string make_usage(const CLI::App*, std::string) const override { return head_; }
    std::string make_positionals(const CLI::App*) const override { return {}; }

private:
    std::string head_;
};

// Parses `args` with `cmd`'s options and runs it, as main does for a top-level command.
Result<int> run_sub(const Command& cmd, const std::string& label, Context& ctx, const std::vector<std::string>& args) {
    CLI::App app{cmd.summary, cat("hull image ", label)};
    std::string head = cat("hull image ", label, " - ", cmd.summary, "\n\nUsage: hull image ", label, " ", cmd.usage, "\n");
    if (*cmd.description) head += cat("\n", cmd.description, "\n");
    app.formatter(std::make_shared<SubHelp>(head));
    app.set_help_flag("-h,--help", "show help");
    Action action = cmd.setup(app);
    std::vector<std::string> positional;
    app.add_option("args", positional)->group("");
    auto arity = [&app](std::string_view name) {
        const CLI::Option* opt = app.get_option_no_throw(cat(name.size() == 1 ? "-" : "--", name));
        if (!opt) return OptionArity::unknown;
        return opt->get_expected_max() == 0 ? OptionArity::flag : OptionArity::value;
    };
    std::vector<std::string> to_parse = normalize_long_options(args, arity);
    try {
        std::vector<std::string> reversed(to_parse.rbegin(), to_parse.rend());
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        write_stdout(app.help());
        return 0;
    } catch (const CLI::ParseError& e) {
        return fail_msg(lowercase_first(e.what()));
    }
    Context sub = ctx;
    sub.command = cat("image ", label);
    sub.args = std::move(positional);
    return action(sub);
}

Action setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        std::string names;
        for (const auto& s : kSubs) names += cat(names.empty() ? "" : ", ", s.name);
        if (ctx.args.empty()) return fail_msg(cat("\"image\" requires a subcommand: ", names));
        for (const auto& s : kSubs)
            if (ctx.args[0] == s.name)
                return run_sub(*s.command, s.name, ctx, std::vector<std::string>(ctx.args.begin() + 1, ctx.args.end()));
        return fail_msg(cat("unknown image subcommand ", q(ctx.args[0]), " (want ", names, ")"));
    };
}

}  // namespace

extern constinit const Command image_command = with_setup(kImageEntry, setup);

}  // namespace hull::cli
