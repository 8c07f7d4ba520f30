//! The fixed word lists the seed draws from: people, job titles, teams, channels, bot
//! applications. Data only; the choices are made in `seed::mod` with the seeded generator.

use crate::model::MembershipType;

/// First and last names of the demo directory, in order. The first is the signed-in demo user.
/// A diverse mix on purpose: accents, apostrophes, hyphens and non-Latin-origin names test the
/// client's text handling (the UPN is an ASCII fold of the name).
pub const PEOPLE: &[(&str, &str)] = &[
    ("Adele", "Vance"),
    ("Megan", "Bowen"),
    ("Diego", "Siciliani"),
    ("Aiko", "Tanaka"),
    ("Kwame", "Mensah"),
    ("Sofia", "Rossi"),
    ("Mateo", "García"),
    ("Priya", "Natarajan"),
    ("Wei", "Chen"),
    ("Fatima", "Al-Sayed"),
    ("Olumide", "Adeyemi"),
    ("Ingrid", "Johansson"),
    ("Zoë", "Dubois"),
    ("Rahul", "Mehta"),
    ("Ana", "Souza"),
    ("Tomás", "Novák"),
    ("Leilani", "Kahale"),
    ("Yusuf", "Demir"),
    ("Marta", "Kowalska"),
    ("Hiroshi", "Sato"),
    ("Nia", "Okafor"),
    ("Björn", "Lindqvist"),
    ("Camille", "Laurent"),
    ("Amara", "Nwosu"),
    ("Kenji", "Watanabe"),
    ("Lucía", "Fernández"),
    ("Siobhán", "O'Connor"),
    ("Dmitri", "Volkov"),
    ("Mei", "Lin"),
    ("Omar", "Haddad"),
    ("Elif", "Yılmaz"),
    ("Raj", "Patel"),
    ("Grace", "Kim"),
    ("Noah", "Becker"),
    ("Hana", "Novotná"),
    ("Isaiah", "Langer"),
    ("Johanna", "Lorenz"),
    ("Lee", "Gu"),
    ("Patti", "Fernandez"),
    ("Nestor", "Wilke"),
    ("Miriam", "Graham"),
    ("Alex", "Wilber"),
];

/// Job titles; the demo user's is the first.
pub const JOB_TITLES: &[&str] = &[
    "Product Manager",
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "UX Designer",
    "Marketing Manager",
    "Content Strategist",
    "Account Executive",
    "Sales Director",
    "Data Scientist",
    "Site Reliability Engineer",
    "Security Analyst",
    "Customer Success Manager",
    "Program Manager",
    "Finance Analyst",
    "HR Business Partner",
    "QA Engineer",
    "Technical Writer",
    "Solutions Architect",
    "Office Manager",
];

/// Colours of profile photos (Fluent's persona palette, roughly).
pub const PHOTO_COLOURS: &[[u8; 3]] = &[
    [0, 120, 212],
    [135, 100, 184],
    [0, 153, 188],
    [202, 80, 16],
    [16, 124, 16],
    [227, 0, 140],
    [77, 100, 141],
    [196, 49, 75],
    [0, 183, 195],
    [255, 185, 0],
    [73, 130, 5],
    [92, 46, 145],
];

/// What a team talks about; it tilts the mix of message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Plans, documents, meetings.
    Work,
    /// Builds, code, incidents.
    Engineering,
    /// Pets, books, lunch.
    Social,
}

/// A hand-written channel of the demo tenant.
#[derive(Debug, Clone, Copy)]
pub struct ChannelSpec {
    /// Display name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Standard, private or shared.
    pub kind: MembershipType,
    /// A private channel the demo user is *not* a member of, so clients meet one they cannot
    /// see.
    pub without_demo_user: bool,
}

/// A hand-written team of the demo tenant.
#[derive(Debug, Clone, Copy)]
pub struct TeamSpec {
    /// Display name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// What it talks about.
    pub topic: Topic,
    /// Channels after General.
    pub channels: &'static [ChannelSpec],
}

const fn standard(name: &'static str, description: &'static str) -> ChannelSpec {
    ChannelSpec {
        name,
        description,
        kind: MembershipType::Standard,
        without_demo_user: false,
    }
}

const fn private(name: &'static str, description: &'static str) -> ChannelSpec {
    ChannelSpec {
        name,
        description,
        kind: MembershipType::Private,
        without_demo_user: false,
    }
}

const fn shared(name: &'static str, description: &'static str) -> ChannelSpec {
    ChannelSpec {
        name,
        description,
        kind: MembershipType::Shared,
        without_demo_user: false,
    }
}

/// The Demo profile's teams, in order. Small uses the first two with two channels each.
pub const DEMO_TEAMS: &[TeamSpec] = &[
    TeamSpec {
        name: "Contoso Product",
        description: "Roadmap, releases and customer feedback for the Contoso apps.",
        topic: Topic::Work,
        channels: &[
            standard("Roadmap", "What we build next and why."),
            standard("Release Train", "Go/no-go, release notes and hotfixes."),
            private(
                "Design Reviews",
                "Early designs, shared with the core product group.",
            ),
            shared(
                "Customer Feedback",
                "Shared with our customer advisory board.",
            ),
        ],
    },
    TeamSpec {
        name: "Engineering",
        description: "Where the platform and app teams build, review and ship.",
        topic: Topic::Engineering,
        channels: &[
            standard("Backend", "APIs, storage and services."),
            standard("Frontend", "The web and desktop apps."),
            standard("Incidents", "Live incidents and postmortems."),
            standard("Code Reviews", "Ask for reviewers here."),
            private(
                "Security",
                "Vulnerability reports and audits. Keep it in here.",
            ),
        ],
    },
    TeamSpec {
        name: "Marketing",
        description: "Campaigns, launches and the Contoso brand.",
        topic: Topic::Work,
        channels: &[
            standard("Campaigns", "Planning and results of every campaign."),
            standard("Social Media", "Posts, schedules and community replies."),
            private("Brand Assets", "Logos, templates and the brand book."),
        ],
    },
    TeamSpec {
        name: "Sales EMEA",
        description: "Deals, partners and forecasts for Europe, the Middle East and Africa.",
        topic: Topic::Work,
        channels: &[
            standard("Deals", "Pipeline reviews and wins."),
            shared(
                "Partner Hub",
                "Shared with Fabrikam and Tailspin partner managers.",
            ),
            ChannelSpec {
                name: "Leadership",
                description: "Sales leadership only.",
                kind: MembershipType::Private,
                without_demo_user: true,
            },
        ],
    },
    TeamSpec {
        name: "Contoso Social",
        description: "Pets, books, running and everything that isn't work.",
        topic: Topic::Social,
        channels: &[
            standard("Random", "Anything goes (within reason)."),
            standard("Pets", "Photos of colleagues' colleagues."),
            standard("Book Club", "One book a month; spoilers in threads."),
        ],
    },
];

/// More team names for the Large and Custom profiles (after the demo teams).
pub const MORE_TEAMS: &[(&str, &str, Topic)] = &[
    (
        "Finance",
        "Budgets, forecasts and month-end close.",
        Topic::Work,
    ),
    (
        "HR Connect",
        "People topics, benefits and hiring.",
        Topic::Work,
    ),
    (
        "IT Help Desk",
        "Laptops, accounts and access requests.",
        Topic::Engineering,
    ),
    ("Legal", "Contracts, policies and compliance.", Topic::Work),
    ("Customer Success", "Onboarding and renewals.", Topic::Work),
    (
        "Data Science",
        "Models, experiments and dashboards.",
        Topic::Engineering,
    ),
    (
        "Mobile Apps",
        "iOS and Android clients.",
        Topic::Engineering,
    ),
    (
        "Cloud Platform",
        "Infrastructure, CI and on-call.",
        Topic::Engineering,
    ),
    (
        "Design Studio",
        "Research, UX and visual design.",
        Topic::Work,
    ),
    (
        "Research",
        "Long-range bets and prototypes.",
        Topic::Engineering,
    ),
    ("Operations", "Facilities, travel and events.", Topic::Work),
    (
        "Procurement",
        "Vendors, purchase orders and renewals.",
        Topic::Work,
    ),
    (
        "Sales Americas",
        "North and South America pipeline.",
        Topic::Work,
    ),
    (
        "Sales APAC",
        "Asia-Pacific pipeline and partners.",
        Topic::Work,
    ),
    ("Leadership Team", "Company leadership.", Topic::Work),
    (
        "Running Club",
        "Weekly runs and race sign-ups.",
        Topic::Social,
    ),
];

/// Channel names for generated teams (Large and Custom).
pub const CHANNEL_POOL: &[(&str, &str)] = &[
    ("Announcements", "Important news for the whole team."),
    ("Planning", "Sprint and quarter planning."),
    ("Help", "Ask anything."),
    ("Releases", "What shipped and when."),
    ("Design", "Mock-ups and feedback."),
    ("Metrics", "Dashboards and weekly numbers."),
    ("Hiring", "Open roles and interview loops."),
    ("Onboarding", "Getting new people started."),
    ("Operations", "Runbooks and routines."),
    ("Customers", "Customer conversations."),
    ("Vendors", "Supplier contacts and contracts."),
    ("Budget", "Spend and approvals."),
    ("Events", "Meetups, offsites and conferences."),
    ("Docs", "Specs and write-ups."),
    ("Incidents", "When things break."),
    ("Ideas", "Half-baked ideas welcome."),
    ("Kudos", "Thank a colleague."),
    ("Watercooler", "Off-topic chat."),
    ("Automation", "Bots, flows and scripts."),
    ("Security", "Access reviews and alerts."),
    ("Quality", "Test plans and bugs."),
    ("Research", "Studies and findings."),
    ("Partners", "Partner updates."),
    ("Training", "Courses and learning."),
    ("Travel", "Trips and expenses."),
];

/// Applications (bots, connectors) that post now and then.
pub const BOTS: &[&str] = &["Azure DevOps", "Jira Cloud", "Polly", "Incoming Webhook"];

/// ASCII-folds a name part for a UPN: lower case, accents dropped, apostrophes and spaces
/// removed, hyphens kept.
pub fn fold(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Å' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ı' | 'Í' | 'İ' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ö' | 'Ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'č' | 'Ç' | 'Č' => 'c',
            'š' | 'Š' => 's',
            'ž' | 'Ž' => 'z',
            'ł' | 'Ł' => 'l',
            'ý' | 'Ý' => 'y',
            '-' => '-',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_names_to_ascii() {
        assert_eq!(fold("García"), "garcia");
        assert_eq!(fold("O'Connor"), "oconnor");
        assert_eq!(fold("Yılmaz"), "yilmaz");
        assert_eq!(fold("Al-Sayed"), "al-sayed");
        assert_eq!(fold("Zoë"), "zoe");
    }
}
