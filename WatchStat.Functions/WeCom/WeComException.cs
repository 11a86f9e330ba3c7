namespace WatchStat.WeCom;

/// <summary>What a WeCom failure means for the caller, per the error table in wecom-api-notes.md.</summary>
public enum WeComErrorKind
{
    /// <summary>errcode -1, system busy: retry with backoff.</summary>
    SystemBusy,
    /// <summary>40014 / 42001: the access token is invalid or expired; refetch it and retry once.</summary>
    TokenRejected,
    /// <summary>45009 / 45033: frequency or concurrency limit; back off, not a failure.</summary>
    Throttled,
    /// <summary>40001: the secret is wrong (maybe rotated).</summary>
    InvalidSecret,
    /// <summary>40013: the corpid is wrong; a configuration error.</summary>
    InvalidCorpId,
    /// <summary>60020: the caller's IP is not in the app's trusted IPs.</summary>
    IpNotTrusted,
    /// <summary>40082 / 42009: the suite access token is invalid or expired; refetch it and retry once.</summary>
    SuiteTokenRejected,
    /// <summary>
    /// No suite_ticket has arrived yet, or WeCom rejected the latest (40085: older than 30 minutes): nothing to do but
    /// wait for WeCom's next push to the suite's callback (every 10 minutes).
    /// </summary>
    AwaitingSuiteTicket,
    /// <summary>48004: the corp's authorization of the app is no longer valid (it cancelled it).</summary>
    NotAuthorized,
    /// <summary>Any other errcode, e.g. an unknown livingid.</summary>
    Other,
    /// <summary>No usable WeCom answer: an HTTP error status, a body that is not the expected JSON, a dropped connection.</summary>
    Transport,
}

/// <summary>
/// A WeCom call that did not succeed. Messages carry the API, errcode and errmsg, never a token or secret.
/// </summary>
public class WeComException : Exception
{
    public WeComException(string api, int? errCode, string? errMsg, WeComErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Api = api;
        ErrCode = errCode;
        ErrMsg = errMsg;
        Kind = kind;
    }

    /// <summary>The API path below /cgi-bin/, e.g. <c>living/get_watch_stat</c>.</summary>
    public string Api { get; }

    /// <summary>WeCom's errcode; null when no WeCom answer was read (transport failure).</summary>
    public int? ErrCode { get; }

    public string? ErrMsg { get; }

    public WeComErrorKind Kind { get; }

    /// <summary>
    /// For a throttle: when the call may be made again, if that is known (WatchStat's budget is used up until the
    /// window's end, or WeCom's hour cap was hit); null to back off as usual.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether the same call may succeed later without a change of configuration.</summary>
    public bool IsRetryable => Kind is WeComErrorKind.SystemBusy or WeComErrorKind.TokenRejected
        or WeComErrorKind.Throttled or WeComErrorKind.Transport;

    public static WeComErrorKind Classify(int errCode) => errCode switch
    {
        -1 => WeComErrorKind.SystemBusy,
        40014 or 42001 => WeComErrorKind.TokenRejected,
        45009 or 45033 => WeComErrorKind.Throttled,
        // 40084: a permanent code is a suite app's secret for a corp, and is rejected as one.
        40001 or 40084 => WeComErrorKind.InvalidSecret,
        40082 or 42009 => WeComErrorKind.SuiteTokenRejected,
        40085 => WeComErrorKind.AwaitingSuiteTicket,
        48004 => WeComErrorKind.NotAuthorized,
        40013 => WeComErrorKind.InvalidCorpId,
        60020 => WeComErrorKind.IpNotTrusted,
        _ => WeComErrorKind.Other,
    };

    /// <summary>The exception for a WeCom answer whose errcode is not 0.</summary>
    public static WeComException FromResult(string api, int errCode, string? errMsg, TimeSpan? retryAfter = null)
    {
        var kind = Classify(errCode);
        var advice = kind switch
        {
            WeComErrorKind.SystemBusy => " WeCom is busy; the call will be retried.",
            WeComErrorKind.TokenRejected => " The access token was rejected.",
            WeComErrorKind.Throttled => " WeCom's rate limit was reached; back off and continue later.",
            WeComErrorKind.InvalidSecret => " The app's secret (corpsecret) is wrong or was rotated: check the secret configured for this app.",
            WeComErrorKind.InvalidCorpId => " The corpid is wrong: check the CorpId setting of this app.",
            WeComErrorKind.SuiteTokenRejected => " The suite access token was rejected.",
            WeComErrorKind.AwaitingSuiteTicket => " WeCom no longer accepts the latest suite_ticket (they last 30 minutes): the run goes on when WeCom "
                + "pushes the next one to the suite's callback URL (every 10 minutes); if none comes, check the suite's callback in the service-provider console.",
            WeComErrorKind.NotAuthorized => " The corp's authorization of the app is no longer valid (it cancelled it, or the app's permissions changed).",
            WeComErrorKind.IpNotTrusted => " This machine's outbound IP is not in the WeCom app's trusted IPs (企业可信IP): add the app's egress IP "
                + "in the WeCom admin console under the app's 开发者接口 > 企业可信IP; retrying cannot help.",
            _ => "",
        };
        if (retryAfter is { } wait) advice = $" WeCom's hour limit was reached (a 45009 again after WeCom's 60 s minute block): calls wait {wait.TotalMinutes:0} minutes, until the next hour.";
        // WeCom's errmsg is WeCom's text of any length: bounded before it goes into messages, logs and the status row.
        errMsg = errMsg is null ? null : Storage.BoundedText.Cut(errMsg, MaxErrMsgLength);
        return new WeComException(api, errCode, errMsg, kind, $"WeCom {api} failed: errcode {errCode}, errmsg '{errMsg}'.{advice}") { RetryAfter = retryAfter };
    }

    /// <summary>The most of WeCom's errmsg a <see cref="WeComException"/> carries (WeCom's own are a sentence).</summary>
    public const int MaxErrMsgLength = 1024;

    public static WeComException Transport(string api, string problem, Exception? inner = null) =>
        new(api, null, null, WeComErrorKind.Transport, $"WeCom {api} failed: {problem}", inner);
}
