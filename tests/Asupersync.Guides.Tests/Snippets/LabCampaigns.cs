using Asupersync.Lab;
using Asupersync.Lab.Campaigns;

namespace Asupersync.Guides.Snippets;

public static class LabCampaigns
{
    // <snippet lab-campaign>
    public static CampaignResult Transfer_NeverLeaks() => LabTest.Campaign(async cx =>
    {
        var accounts = new Accounts();
        await accounts.TransferAsync(cx, "a", "b", 10);
    }, new CampaignOptions { TargetUpperBound = 0.01, MaxRuns = 50_000 });
    // </snippet>
}
