// The window's help: context help of each control (the "?" button, then a
// click on the control) and the Step-By-Step Help frame (Ctrl-H).
#pragma once

class wxFrame;

namespace shype::ezpolicy::gui::help {

extern const char* const kNewOrgButton;
extern const char* const kTree;
extern const char* const kCreateRuleButton;
extern const char* const kRulesPanel;
extern const char* const kAddButton;
extern const char* const kDelButton;
extern const char* const kRuleMembers;
extern const char* const kRuleMenuButton;
extern const char* const kAbout;
// The step-by-step help as HTML.
extern const char* const kStepByStepHtml;

// Fills `frame` with an HTML view of kStepByStepHtml.
void create_help_view(wxFrame* frame);

}  // namespace shype::ezpolicy::gui::help
