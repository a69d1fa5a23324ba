// Replay driver: runs a fuzz target over files and directories given on the command line, so
// every target builds with any compiler (GCC included) and ctest can replay the corpus and past
// crashes on every push. With libFuzzer this file is not linked.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int run_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An exactly sized heap copy, so that over-reads are caught by ASan.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
    return 1;
}
} // namespace

int main(int argc, char** argv) {
    int count = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(p))
                // Dotfiles (.keep) hold a folder in git; they are not inputs.
                if (e.is_regular_file() && e.path().filename().string().front() != '.')
                    count += run_file(e.path());
        } else if (std::filesystem::exists(p)) {
            count += run_file(p);
        } else {
            std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            return 2;
        }
    }
    std::printf("replay: %d input(s) ran without a finding\n", count);
    return 0;
}
