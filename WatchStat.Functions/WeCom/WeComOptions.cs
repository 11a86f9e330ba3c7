using System.ComponentModel.DataAnnotations;

namespace WatchStat.WeCom;

/// <summary>Settings under <c>WeCom:</c>. Validated at start, so a missing one fails with its name.</summary>
public sealed class WeComOptions
{
    public const string Section = "WeCom";

    /// <summary><c>WeCom:BaseUrl</c>: WeCom's API host; the simulator's address for local runs and tests.</summary>
    [Required(ErrorMessage = "Setting WeCom:BaseUrl is required (https://qyapi.weixin.qq.com for WeCom itself).")]
    public Uri BaseUrl { get; set; } = new("https://qyapi.weixin.qq.com");

    /// <summary><c>WeCom:CorpId</c>: the enterprise's corpid (企业ID).</summary>
    [Required(ErrorMessage = "Setting WeCom:CorpId is required: the enterprise's corpid (企业ID).")]
    public string? CorpId { get; set; }

    /// <summary><c>WeCom:Secret</c>: the self-built app's secret (corpsecret). Never logged.</summary>
    [Required(ErrorMessage = "Setting WeCom:Secret is required: the app's secret (corpsecret).")]
    public string? Secret { get; set; }

    /// <summary><c>WeCom:TimeoutSeconds</c>: how long one WeCom call may take.</summary>
    [Range(1, 600, ErrorMessage = "Setting WeCom:TimeoutSeconds must be between 1 and 600.")]
    public int TimeoutSeconds { get; set; } = 30;
}
