// `hull import FILE|DIR [REF]`: an OCI layout, oci-archive, docker-archive or rootfs tarball
// into the image store (images/import.hpp); prints the image ID.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"
#include "images/catalog.hpp"
#include "images/import.hpp"

#include "common/strings.hpp"

#include <memory>

namespace hull::cli {
namespace {

struct ImportFlags {
    std::string store;
    std::string platform;
    std::string select;
    bool quiet = false;
};

Action setup(CLI::App& app) {
    auto f = std::make_shared<ImportFlags>();
    add_store_option(app, f->store);
    app.add_option("--platform", f->platform, "OS/ARCH[/VARIANT] to pick from a multi-platform layout")->type_name("P");
    app.add_option("--select", f->select, "which image of a layout or archive holding several (its tag or name)");
    app.add_flag("-q,--quiet", f->quiet, "print only the image ID (the default output too)");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        HULL_TRY(check_args(ctx, 2, ArgCheck::max));
        images::ImportOptions opts;
        if (ctx.args.size() == 2) opts.name = ctx.args[1];
        opts.select = f->select;
        if (!f->platform.empty()) opts.platform = HULL_TRY(oci::parse_platform(f->platform));
        const std::string path = absolute(ctx.args[0]);
        images::Store store = HULL_TRY(open_store(f->store));
        const images::ImageRecord rec = HULL_TRY_CTX(images::import_image(store, path, opts), cat("import `", path, "`"));
        write_stdout(cat(images::image_id(rec), "\n"));
        return 0;
    };
}

}  // namespace

extern constinit const Command import_command = with_setup(kImportEntry, setup);

}  // namespace hull::cli
