// `hull rmi [-f] REF...`: removes image records, then lets gc free what no record or container
// pin still reaches. An image a container uses (its layers are pinned) is refused without -f;
// with -f the record goes but the container's pinned layers stay until it unpins them.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"
#include "images/catalog.hpp"

#include "common/strings.hpp"

#include <memory>
#include <set>

namespace hull::cli {
namespace {

struct RmiFlags {
    std::string store;
    bool force = false;
};

Action setup(CLI::App& app) {
    auto f = std::make_shared<RmiFlags>();
    add_store_option(app, f->store);
    app.add_flag("-f,--force", f->force, "remove images that containers use, and every name of an image ID");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        images::Store store = HULL_TRY(open_store(f->store));
        // Every argument is checked before anything is removed: a bad one removes nothing.
        std::vector<images::ImageRecord> doomed;
        std::set<std::string> names;
        for (const auto& token : ctx.args) {
            std::vector<images::ImageRecord> recs = HULL_TRY(images::lookup_images(store, token));
            if (recs.size() > 1 && !f->force) {
                std::vector<std::string> list;
                for (const auto& r : recs) list.push_back(q(r.name));
                return fail_msg(cat("image ID `", token, "` has ", recs.size(), " names (", join(list, ", "),
                                    "); remove them by name or use -f"));
            }
            for (auto& r : recs) {
                const std::vector<std::string> users = HULL_TRY(images::image_users(store, r));
                if (!users.empty() && !f->force) {
                    std::vector<std::string> list;
                    for (const auto& u : users) list.push_back(q(u));
                    return fail_msg(cat("image `", r.name, "` is in use by container ", join(list, ", "),
                                        " (use -f to remove its name anyway)"));
                }
                if (names.insert(r.name).second) doomed.push_back(std::move(r));
            }
        }
        std::string out;
        for (const auto& r : doomed) {
            HULL_TRY(store.remove_image(r.name));
            if (!r.name.starts_with("@")) out += cat("Untagged: ", r.name, "\n");
        }
        // An image ID is deleted once no record names it any more.
        std::set<std::string> remaining;
        for (const auto& r : HULL_TRY(store.list_images())) remaining.insert(r.config_digest.hex);
        std::set<std::string> deleted;
        for (const auto& r : doomed)
            if (!remaining.contains(r.config_digest.hex) && deleted.insert(r.config_digest.hex).second)
                out += cat("Deleted: ", r.config_digest.hex, "\n");
        write_stdout(out);
        HULL_TRY_CTX(store.gc(), "free the removed images' storage");
        return 0;
    };
}

}  // namespace

extern constinit const Command rmi_command = with_setup(kRmiEntry, setup);

}  // namespace hull::cli
