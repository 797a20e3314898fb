// `hull pull REF`: pulls an image from a registry into the store, through the hull-fetch helper
// (images/pull.hpp), with podman's flags. Progress goes to stderr, the image ID to stdout.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"
#include "images/catalog.hpp"
#include "images/pull.hpp"

#include "common/strings.hpp"

#include <memory>

namespace hull::cli {
namespace {

struct PullFlags {
    std::string store;
    images::PullOptions opts;
};

Action setup(CLI::App& app) {
    auto f = std::make_shared<PullFlags>();
    add_store_option(app, f->store);
    app.add_flag("--tls-verify", f->opts.tls_verify,
                 "require HTTPS and verify certificates (--tls-verify=false also allows plain HTTP)");
    app.add_option("--creds", f->opts.creds, "USERNAME:PASSWORD for the registry")->type_name("U:P");
    app.add_option("--authfile", f->opts.authfile, "credentials file (auth.json or docker config.json)")->type_name("FILE");
    app.add_option("--cert-dir", f->opts.cert_dir, "directory whose *.crt files are trusted CAs")->type_name("DIR");
    app.add_option("--platform", f->opts.platform, "OS/ARCH[/VARIANT] to pick from a multi-platform image")
        ->type_name("P");
    app.add_flag("-q,--quiet", f->opts.quiet, "no progress; print only the image ID");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        f->opts.store_root = HULL_TRY(store_root_path(f->store));
        if (!f->opts.authfile.empty()) f->opts.authfile = absolute(f->opts.authfile);
        if (!f->opts.cert_dir.empty()) f->opts.cert_dir = absolute(f->opts.cert_dir);
        const images::ImageRecord rec = HULL_TRY(images::pull_image(ctx.args[0], f->opts));
        write_stdout(cat(images::image_id(rec), "\n"));
        return 0;
    };
}

}  // namespace

extern constinit const Command pull_command = with_setup(kPullEntry, setup);

}  // namespace hull::cli
