using System.ComponentModel.DataAnnotations;

namespace WatchStat.WeCom;

/// <summary>
/// Settings under <c>WeCom:</c>. Apps are configured as <c>WeCom:Apps:{name}:*</c>; the foundation's single-app
/// settings (<c>WeCom:CorpId</c>, <c>WeCom:Secret</c>, <c>WeCom:SecretName</c>) define the app named <c>default</c>.
/// Validated at start (<see cref="WeComOptionsValidator"/>), so a missing setting fails with its name.
/// </summary>
public sealed class WeComOptions
{
    public const string Section = "WeCom";

    /// <summary><c>WeCom:BaseUrl</c>: WeCom's API host; the simulator's address for local runs and tests.</summary>
    [Required(ErrorMessage = "Setting WeCom:BaseUrl is required (https://qyapi.weixin.qq.com for WeCom itself).")]
    public Uri BaseUrl { get; set; } = new("https://qyapi.weixin.qq.com");

    /// <summary><c>WeCom:TimeoutSeconds</c>: how long one WeCom call may take, its retries included.</summary>
    [Range(1, 600, ErrorMessage = "Setting WeCom:TimeoutSeconds must be between 1 and 600.")]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary><c>WeCom:AttemptTimeoutSeconds</c>: how long one attempt of a call may take before it is given up and retried.</summary>
    [Range(1, 600, ErrorMessage = "Setting WeCom:AttemptTimeoutSeconds must be between 1 and 600.")]
    public int AttemptTimeoutSeconds { get; set; } = 10;

    /// <summary><c>WeCom:MaxRetries</c>: retries of a call after a transient fault (HTTP 5xx, timeouts, broken JSON, errcode -1).</summary>
    [Range(0, 10, ErrorMessage = "Setting WeCom:MaxRetries must be between 0 and 10.")]
    public int MaxRetries { get; set; } = 4;

    /// <summary><c>WeCom:RetryDelayMilliseconds</c>: the first retry's delay; later ones double it, with jitter.</summary>
    [Range(1, 60_000, ErrorMessage = "Setting WeCom:RetryDelayMilliseconds must be between 1 and 60000.")]
    public int RetryDelayMilliseconds { get; set; } = 500;

    /// <summary>
    /// <c>WeCom:MaxCallsPerMinute</c>: calls per minute this process makes per corp and API, paced evenly over the
    /// minute. It smooths one instance's bursts; WeCom's limits are kept by the shared budget (<see cref="BudgetPercent"/>).
    /// </summary>
    [Range(60, 100_000, ErrorMessage = "Setting WeCom:MaxCallsPerMinute must be between 60 and 100000.")]
    public int MaxCallsPerMinute { get; set; } = 2000;

    /// <summary>
    /// <c>WeCom:BudgetPercent</c>: the share, in percent, of WeCom's per-corp limits (<see cref="CorpLimitPerMinute"/>,
    /// <see cref="CorpLimitPerHour"/>) this deployment's instances, CLI and discovery spend together, per corp and API
    /// (<see cref="WeComBudget"/>); the rest is left to the corp's other systems.
    /// </summary>
    [Range(1, 100, ErrorMessage = "Setting WeCom:BudgetPercent must be between 1 and 100.")]
    public int BudgetPercent { get; set; } = 80;

    /// <summary><c>WeCom:CorpLimitPerMinute</c>: WeCom's limit of calls per corp and API a minute (10,000).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Setting WeCom:CorpLimitPerMinute must be between 1 and 1000000.")]
    public int CorpLimitPerMinute { get; set; } = 10_000;

    /// <summary><c>WeCom:CorpLimitPerHour</c>: WeCom's limit of calls per corp and API an hour (150,000).</summary>
    [Range(1, 100_000_000, ErrorMessage = "Setting WeCom:CorpLimitPerHour must be between 1 and 100000000.")]
    public int CorpLimitPerHour { get; set; } = 150_000;

    /// <summary><c>WeCom:CorpId</c>: the default app's corpid (企业ID).</summary>
    public string? CorpId { get; set; }

    /// <summary><c>WeCom:Secret</c>: the default app's secret, when secrets come from configuration. Never logged.</summary>
    public string? Secret { get; set; }

    /// <summary><c>WeCom:SecretName</c>: the Key Vault secret holding the default app's secret.</summary>
    public string? SecretName { get; set; }

    /// <summary><c>WeCom:CallbackToken</c>: the default app's callback Token, when secrets come from configuration. Never logged.</summary>
    public string? CallbackToken { get; set; }

    /// <summary><c>WeCom:EncodingAesKey</c>: the default app's callback EncodingAESKey, when secrets come from configuration. Never logged.</summary>
    public string? EncodingAesKey { get; set; }

    /// <summary><c>WeCom:CallbackTokenSecretName</c>: the Key Vault secret holding the default app's callback Token.</summary>
    public string? CallbackTokenSecretName { get; set; }

    /// <summary><c>WeCom:EncodingAesKeySecretName</c>: the Key Vault secret holding the default app's callback EncodingAESKey.</summary>
    public string? EncodingAesKeySecretName { get; set; }

    /// <summary><c>WeCom:Apps:{name}:*</c>: the apps of this deployment by name.</summary>
    public Dictionary<string, WeComAppOptions> Apps { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Settings of one app, <c>WeCom:Apps:{name}:*</c>.</summary>
public sealed class WeComAppOptions
{
    /// <summary>
    /// <c>custom</c> (the default: a corp's own app), <c>agent</c> (agent-developed, 代开发) or <c>thirdparty</c>
    /// (a service provider's suite app, 第三方应用).
    /// </summary>
    public string? Kind { get; set; }

    /// <summary>The enterprise's corpid (企业ID); none for an app corps install through its suite.</summary>
    public string? CorpId { get; set; }

    /// <summary>
    /// The suite's id (SuiteID): a third-party app's, or the template's of an agent-developed app installed through
    /// its template's callback. Its corps are the ones that authorize it (create_auth), not a setting.
    /// </summary>
    public string? SuiteId { get; set; }

    /// <summary>The suite's secret (SuiteSecret), when secrets come from configuration. Never logged.</summary>
    public string? SuiteSecret { get; set; }

    /// <summary>The name of the Key Vault secret that holds the suite's secret.</summary>
    public string? SuiteSecretName { get; set; }

    /// <summary>The app's secret (corpsecret), when secrets come from configuration (no <c>KeyVault:Uri</c>). Never logged.</summary>
    public string? Secret { get; set; }

    /// <summary>The name of the Key Vault secret that holds the app's secret.</summary>
    public string? SecretName { get; set; }

    /// <summary>
    /// The Token of the app's callback (接收消息: API接收), when secrets come from configuration. With
    /// <see cref="EncodingAesKey"/> it gives the app its callback route; never logged.
    /// </summary>
    public string? CallbackToken { get; set; }

    /// <summary>The EncodingAESKey of the app's callback (43 characters), when secrets come from configuration. Never logged.</summary>
    public string? EncodingAesKey { get; set; }

    /// <summary>The name of the Key Vault secret that holds the callback Token.</summary>
    public string? CallbackTokenSecretName { get; set; }

    /// <summary>The name of the Key Vault secret that holds the callback EncodingAESKey.</summary>
    public string? EncodingAesKeySecretName { get; set; }

    /// <summary>The anchors (userids) whose lives the nightly harvest looks for, comma separated.</summary>
    public string? AnchorUserIds { get; set; }
}
