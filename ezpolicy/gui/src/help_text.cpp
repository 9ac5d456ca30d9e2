#include "ezpolicy/gui/help_text.hpp"

#include <wx/frame.h>
#include <wx/html/htmlwin.h>
#include <wx/sizer.h>

namespace shype::ezpolicy::gui::help {

const char* const kNewOrgButton =
    "New Org: adds an organization, a workload type of its own. Its name may not contain '.', "
    "':' or white space. <Ctrl>-h for help";
const char* const kTree =
    "Organizations and their departments: each is a workload type and becomes a VM label and a "
    "resource label of the policy. Right-click for Add Department, Rename and Delete; hold "
    "<Ctrl> to select several. <Ctrl>-h for help";
const char* const kCreateRuleButton =
    "Creates a run-time exclusion rule holding the selected organizations and departments: at "
    "most one of them may run at a time. <Ctrl>-h for help";
const char* const kRulesPanel =
    "Run-time exclusion rules: workloads in one rule never run at the same time on this "
    "platform (Chinese Wall conflict sets). <Ctrl>-h for help";
const char* const kAddButton =
    "--> Add: adds the workloads selected in the tree to this rule. <Ctrl>-h for help";
const char* const kDelButton =
    "<-- Del: removes the members selected in this rule's list. <Ctrl>-h for help";
const char* const kRuleMembers =
    "The workload types of this rule. Select members here before pressing <-- Del. <Ctrl>-h for "
    "help";
const char* const kRuleMenuButton =
    "Rename or delete this run-time exclusion rule. <Ctrl>-h for help";
const char* const kAbout =
    "ezPolicy (shype): defines workloads and run-time exclusion rules and translates them into a "
    "Xen ACM security policy (Simple Type Enforcement and Chinese Wall).";

const char* const kStepByStepHtml = R"html(<html><body>
<h3>Creating a Xen Security Policy in 3 Steps</h3>
<p><b>1. Define workloads.</b> Press <i>New Org</i> to add an organization, for example
A-Bank, B-Bank and AutoCorp. Select an organization and press &lt;Ctrl&gt;-a (or right-click it:
<i>Add Department</i>) to add departments such as SecurityUnderwriting and MarketAnalysis.
Every organization and every department is a workload type: its domains share only with domains
of the same type. __UNLABELED__ stands for domains and resources without a label; delete it if
unlabeled domains shall not run.</p>
<p><b>2. Define run-time exclusion rules.</b> Select the workloads that must never run at the
same time (hold &lt;Ctrl&gt; to select several) and press <i>Create run-time exclusion rule from
selection</i>. A department inherits every rule of its organization. Use <i>--&gt; Add</i> and
<i>&lt;-- Del</i> to change a rule; the button beside it renames or deletes the rule. Cautious
users add __UNLABELED__ to every rule.</p>
<p><b>3. Translate.</b> <i>File &gt; Save as Xen ACM Security Policy</i> asks for a policy name
(for example mytest) and writes mytest-security_policy.xml into the policy directory
(SHYPE_ROOT/etc/xen/acm-security/policies). Load it with <tt>xm setpolicy ACM mytest</tt>, or use
<i>File &gt; Deploy Policy to xend</i>.</p>
<p>Save the workload definition itself with <i>File &gt; Save Workload Definition</i>
(&lt;Ctrl&gt;-s) to refine it later. &lt;Ctrl&gt;-z undoes and &lt;Ctrl&gt;-y redoes a change.
The <i>Problems</i> tab lists what the translation would warn about or refuse; <i>Explain</i>
tells whether two workloads may share and may run together, and which rule decides.</p>
</body></html>)html";

void create_help_view(wxFrame* frame) {
  auto* html = new wxHtmlWindow(frame);
  html->SetPage(kStepByStepHtml);
  auto* sizer = new wxBoxSizer(wxVERTICAL);
  sizer->Add(html, 1, wxEXPAND);
  frame->SetSizer(sizer);
}

}  // namespace shype::ezpolicy::gui::help
