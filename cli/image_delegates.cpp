// The image commands as the static `hull` has them: listed in its help, run by hull-image
// (cli/image_commands.hpp, cli/CMakeLists.txt). launch's own failures exit 125, so does
// failing to run hull-image for it.
#include "cli/image_commands.hpp"

namespace hull::cli {

extern constinit const Command image_command = in_image_helper(kImageEntry);
extern constinit const Command images_command = in_image_helper(kImagesEntry);
extern constinit const Command import_command = in_image_helper(kImportEntry);
extern constinit const Command launch_command = in_image_helper(kLaunchEntry, 125);
extern constinit const Command pull_command = in_image_helper(kPullEntry);
extern constinit const Command rmi_command = in_image_helper(kRmiEntry);

}  // namespace hull::cli
