// Placeholder: filled in by the split-device work (shype/io/).
namespace shype::guest {}
