using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace WatchStat.WeComSimulator;

/// <summary>One push to a suite's instruction callback and its answer. Carries neither the ticket nor the auth_code pushed.</summary>
/// <param name="InfoType">suite_ticket, create_auth, change_auth or cancel_auth.</param>
/// <param name="CorpId">The corp an authorization push is about; null for suite_ticket.</param>
/// <param name="Status">The HTTP status, 0 when the request failed (then <paramref name="Error"/> says why).</param>
/// <param name="Body">The first 200 characters of the answer.</param>
/// <param name="ElapsedMs">The HTTP call alone, to 0.1 ms.</param>
/// <param name="Error">The exception's type and message when the request failed.</param>
public sealed record SuiteDelivery(string SuiteId, string InfoType, string? CorpId, int Status, string Body, double ElapsedMs, string? Error)
{
    /// <summary>Whether the app took the push as WeCom requires: HTTP 200 with the body <c>success</c>, nothing around it.</summary>
    public bool Accepted => Status == 200 && string.Equals(Body, "success", StringComparison.Ordinal);
}

/// <summary>
/// WeCom's side of a service provider's third-party apps (suites, 第三方应用): the instruction callback (指令回调,
/// registered with a URL check, receiveid = suite_id) that gets a suite_ticket every
/// <see cref="SimulatorOptions.SuiteTicketIntervalSeconds"/> and the create_auth, change_auth and cancel_auth of
/// corps installing and removing the app; and what <c>service/get_suite_token</c>, <c>service/get_permanent_code</c>
/// and <c>service/get_corp_token</c> check: tickets, auth_codes (single use, ten minutes), permanent codes (one per
/// suite and corp) and suite_access_tokens. Corp tokens are ordinary access tokens of the corp
/// (<see cref="SimulatorState.IssueToken"/>), valid on every API. Never logs; no answer of the control API carries a
/// ticket, code or token (<see cref="IssuedSecrets"/> lists them for tests that look for leaks).
/// </summary>
public sealed class SuiteSide
{
    /// <summary>How long an auth_code of create_auth can be exchanged for the permanent code, as WeCom's: ten minutes.</summary>
    public const int AuthCodeLifetimeSeconds = 600;

    /// <summary>The agentid get_permanent_code reports for the app in the authorizing corp.</summary>
    public const int AgentId = 1000005;

    /// <summary>The app's name get_permanent_code reports.</summary>
    public const string AgentName = "WatchStat";

    /// <summary>Deliveries kept per suite (<see cref="Deliveries"/>): the latest ones.</summary>
    public const int MaxDeliveriesKept = 1000;

    /// <summary>Secrets kept by <see cref="IssuedSecrets"/>: the latest ones.</summary>
    public const int MaxSecretsKept = 10_000;

    // Tickets remembered per suite, newest last: a week of pushes every ten minutes, far more than the 30 minutes they live.
    private const int MaxTicketsKept = 1000;
    private const int PruneSuiteTokensAbove = 1000;

    private readonly SimulatorState _state;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SuiteRuntime> _runtime = new(StringComparer.Ordinal);
    private readonly Dictionary<(string SuiteId, string CorpId), Authorization> _authorizations = [];
    private readonly Dictionary<string, PendingAuthCode> _authCodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SuiteToken> _suiteTokens = new(StringComparer.Ordinal);
    private readonly Queue<string> _secrets = new();
    private bool _stopped;

    internal SuiteSide(SimulatorState state) => _state = state;

    /// <summary>The suite_ids get_suite_token knows, sorted.</summary>
    public IReadOnlyList<string> SuiteIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _state.Options.Suites.Select(s => s.SuiteId).Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Adds the suite, or sets the secret of a known one (the old secret answers 40080 afterwards; tokens, tickets and authorizations stay).</summary>
    /// <exception cref="ArgumentException">An empty suite_id or secret.</exception>
    public void SetSuite(string suiteId, string suiteSecret)
    {
        ArgumentException.ThrowIfNullOrEmpty(suiteId);
        ArgumentException.ThrowIfNullOrEmpty(suiteSecret);
        lock (_lock)
        {
            var suite = FindSuite(suiteId);
            if (suite is null)
            {
                _state.Options.Suites.Add(new SimulatedSuite { SuiteId = suiteId, SuiteSecret = suiteSecret });
            }
            else
            {
                suite.SuiteSecret = suiteSecret;
            }
        }
    }

    /// <summary>
    /// Saves the suite's instruction callback URL as the service provider's console does: runs the URL check (the
    /// echostr encrypted for receiveid = <paramref name="suiteId"/>) and, when it passes, replaces any earlier
    /// registration, pushes the first suite_ticket at once and then one every
    /// <see cref="SimulatorOptions.SuiteTicketIntervalSeconds"/> of the simulator's clock.
    /// </summary>
    /// <returns>The URL check; not saved unless it passed.</returns>
    /// <exception cref="ArgumentException">A bad URL, token or key.</exception>
    /// <exception cref="KeyNotFoundException">The suite is unknown.</exception>
    public Task<CallbackCheck?> RegisterCallbackAsync(string suiteId, string url, string token, string encodingAesKey, CancellationToken ct = default) =>
        RegisterCallbackAsync(suiteId, url, token, encodingAesKey, verify: true, ct);

    /// <summary>
    /// <see cref="RegisterCallbackAsync(string, string, string, string, CancellationToken)"/>; without the URL check when
    /// <paramref name="verify"/> is false (then null is returned and the registration saved, for an app not up yet).
    /// </summary>
    /// <exception cref="ArgumentException">A bad URL, token or key.</exception>
    /// <exception cref="KeyNotFoundException">The suite is unknown.</exception>
    public async Task<CallbackCheck?> RegisterCallbackAsync(string suiteId, string url, string token, string encodingAesKey, bool verify,
        CancellationToken ct = default) =>
        (await RegisterAsync(suiteId, url, token, encodingAesKey, verify, ct).ConfigureAwait(false)).Check;

    /// <summary>Forgets the suite's instruction callback and stops its ticket timer; false when none was registered.</summary>
    public bool RemoveCallback(string suiteId)
    {
        lock (_lock)
        {
            if (!_runtime.TryGetValue(suiteId, out var runtime) || runtime.Callback is null)
            {
                return false;
            }

            runtime.Callback = null;
            runtime.Timer?.Dispose();
            runtime.Timer = null;
            return true;
        }
    }

    /// <summary>The registered instruction callback URL of the suite, or null.</summary>
    public Uri? CallbackUrl(string suiteId)
    {
        lock (_lock)
        {
            return _runtime.GetValueOrDefault(suiteId)?.Callback?.Url;
        }
    }

    /// <summary>Pushes a new suite_ticket now, outside the timer (which keeps its pace). The ticket is valid from now whether or not the app took it.</summary>
    /// <exception cref="KeyNotFoundException">The suite is unknown or has no instruction callback.</exception>
    public Task<SuiteDelivery> PushTicketAsync(string suiteId, CancellationToken ct = default)
    {
        Registration registration;
        string message;
        lock (_lock)
        {
            RequireSuite(suiteId);
            var runtime = Runtime(suiteId);
            registration = runtime.Callback ?? throw NoCallback(suiteId);
            var now = _state.Time.GetUtcNow();
            var ticket = SimulatorState.NewToken();
            runtime.Tickets.Add(new PushedTicket(ticket, now));
            if (runtime.Tickets.Count > MaxTicketsKept)
            {
                runtime.Tickets.RemoveRange(0, runtime.Tickets.Count - MaxTicketsKept);
            }

            RecordSecret(ticket);
            message = TicketMessage(suiteId, ticket, now.ToUnixTimeSeconds());
        }

        return DeliverAsync(registration, "suite_ticket", null, message, ct);
    }

    /// <summary>
    /// A corp installs the app (the admin confirms the authorization): a new auth_code for <paramref name="corpId"/>,
    /// valid <see cref="AuthCodeLifetimeSeconds"/> and once, is pushed as create_auth. get_permanent_code exchanges it for
    /// the corp's permanent code, created by the first exchange after each authorization (a corp that cancelled and
    /// installed again gets a new one).
    /// </summary>
    /// <param name="corpName">auth_corp_info.corp_name of get_permanent_code; null: the corpid (or the name given before).</param>
    /// <exception cref="ArgumentException">An empty corpid.</exception>
    /// <exception cref="KeyNotFoundException">The suite is unknown or has no instruction callback.</exception>
    public Task<SuiteDelivery> AuthorizeAsync(string suiteId, string corpId, string? corpName = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(corpId);
        Registration registration;
        string message;
        lock (_lock)
        {
            RequireSuite(suiteId);
            registration = Runtime(suiteId).Callback ?? throw NoCallback(suiteId);
            var now = _state.Time.GetUtcNow();
            if (!_authorizations.TryGetValue((suiteId, corpId), out var authorization))
            {
                _authorizations[(suiteId, corpId)] = authorization = new Authorization(corpName ?? corpId);
            }
            else if (corpName is not null)
            {
                authorization.CorpName = corpName;
            }

            foreach (var (expired, _) in _authCodes.Where(kv => kv.Value.ExpiresAt <= now).ToList())
            {
                _authCodes.Remove(expired);
            }

            var authCode = SimulatorState.NewToken();
            _authCodes[authCode] = new PendingAuthCode(suiteId, corpId, now.AddSeconds(AuthCodeLifetimeSeconds));
            RecordSecret(authCode);
            message = CreateAuthMessage(suiteId, authCode, now.ToUnixTimeSeconds());
        }

        return DeliverAsync(registration, "create_auth", corpId, message, ct);
    }

    /// <summary>The corp changed the app's authorization (visible range, permissions): change_auth is pushed; codes and tokens stay valid.</summary>
    /// <exception cref="KeyNotFoundException">The suite is unknown, has no instruction callback, or the corp has not authorized it.</exception>
    public Task<SuiteDelivery> ChangeAuthAsync(string suiteId, string corpId, CancellationToken ct = default)
    {
        Registration registration;
        string message;
        lock (_lock)
        {
            registration = RequireAuthorized(suiteId, corpId);
            message = ChangeAuthMessage(suiteId, corpId, _state.Time.GetUtcNow().ToUnixTimeSeconds());
        }

        return DeliverAsync(registration, "change_auth", corpId, message, ct);
    }

    /// <summary>
    /// The corp removes the app: its permanent code answers 40084 from now on, its unused auth_codes 40029, and every
    /// corp token this suite issued for it 48004 ("auth relation invalid": the token is known, the authorization
    /// behind it is gone, which tells a client not to fetch a new one); then cancel_auth is pushed. gettoken tokens
    /// of the corp are not the suite's and stay valid.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The suite is unknown, has no instruction callback, or the corp has not authorized it.</exception>
    public Task<SuiteDelivery> CancelAuthAsync(string suiteId, string corpId, CancellationToken ct = default)
    {
        Registration registration;
        string message;
        lock (_lock)
        {
            registration = RequireAuthorized(suiteId, corpId);
            _authorizations.Remove((suiteId, corpId));
            foreach (var (code, _) in _authCodes.Where(kv => kv.Value.SuiteId == suiteId && kv.Value.CorpId == corpId).ToList())
            {
                _authCodes.Remove(code);
            }

            message = CancelAuthMessage(suiteId, corpId, _state.Time.GetUtcNow().ToUnixTimeSeconds());
        }

        _state.CancelCorpTokens(suiteId, corpId);
        return DeliverAsync(registration, "cancel_auth", corpId, message, ct);
    }

    /// <summary>Whether <paramref name="corpId"/> has authorized (installed) the suite and not cancelled since.</summary>
    public bool IsAuthorized(string suiteId, string corpId)
    {
        lock (_lock)
        {
            return _authorizations.ContainsKey((suiteId, corpId));
        }
    }

    /// <summary>The corps that have authorized the suite, sorted.</summary>
    public IReadOnlyList<string> AuthorizedCorpIds(string suiteId)
    {
        lock (_lock)
        {
            return [.. _authorizations.Keys.Where(k => k.SuiteId == suiteId).Select(k => k.CorpId).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The last suite_ticket pushed to the suite (valid or not by now), or null. For tests: a secret.</summary>
    public string? LatestTicket(string suiteId)
    {
        lock (_lock)
        {
            return _runtime.GetValueOrDefault(suiteId)?.Tickets.LastOrDefault()?.Ticket;
        }
    }

    /// <summary>The corp's permanent code of the suite, null before get_permanent_code or after cancel_auth. For tests: a secret.</summary>
    public string? PermanentCode(string suiteId, string corpId)
    {
        lock (_lock)
        {
            return _authorizations.GetValueOrDefault((suiteId, corpId))?.PermanentCode;
        }
    }

    /// <summary>The pushes to the suite's instruction callback, oldest first (the latest <see cref="MaxDeliveriesKept"/>).</summary>
    public IReadOnlyList<SuiteDelivery> Deliveries(string suiteId)
    {
        lock (_lock)
        {
            return [.. _runtime.GetValueOrDefault(suiteId)?.Deliveries ?? []];
        }
    }

    /// <summary>
    /// Every suite_ticket, suite_access_token, auth_code, permanent_code and corp access token issued so far (the
    /// latest <see cref="MaxSecretsKept"/>), revoked and expired ones included: what a test looks for in logs and output
    /// that must never carry one.
    /// </summary>
    public IReadOnlyList<string> IssuedSecrets()
    {
        lock (_lock)
        {
            return [.. _secrets];
        }
    }

    /// <summary>The suite_ticket push, as WeCom's (path/90628).</summary>
    public static string TicketMessage(string suiteId, string ticket, long timeStamp) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<xml><SuiteId>{Cdata(suiteId)}</SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{timeStamp}</TimeStamp>"
            + $"<SuiteTicket>{Cdata(ticket)}</SuiteTicket></xml>");

    /// <summary>The create_auth push of an install, as WeCom's (path/90642): the auth_code for get_permanent_code.</summary>
    public static string CreateAuthMessage(string suiteId, string authCode, long timeStamp) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<xml><SuiteId>{Cdata(suiteId)}</SuiteId><AuthCode>{Cdata(authCode)}</AuthCode><InfoType><![CDATA[create_auth]]></InfoType>"
            + $"<TimeStamp>{timeStamp}</TimeStamp><State><![CDATA[]]></State></xml>");

    /// <summary>The change_auth push, as WeCom's (path/90639).</summary>
    public static string ChangeAuthMessage(string suiteId, string corpId, long timeStamp) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<xml><SuiteId>{Cdata(suiteId)}</SuiteId><InfoType><![CDATA[change_auth]]></InfoType><TimeStamp>{timeStamp}</TimeStamp>"
            + $"<AuthCorpId>{Cdata(corpId)}</AuthCorpId><State><![CDATA[]]></State></xml>");

    /// <summary>The cancel_auth push, as WeCom's (path/90640).</summary>
    public static string CancelAuthMessage(string suiteId, string corpId, long timeStamp) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<xml><SuiteId>{Cdata(suiteId)}</SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>{timeStamp}</TimeStamp>"
            + $"<AuthCorpId>{Cdata(corpId)}</AuthCorpId></xml>");

    /// <summary>The registration (URL check, save, first ticket, timer); the first ticket's delivery is null when the check failed.</summary>
    internal async Task<(CallbackCheck? Check, SuiteDelivery? FirstTicket)> RegisterAsync(string suiteId, string url, string token, string encodingAesKey,
        bool verify, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(suiteId);
        lock (_lock)
        {
            RequireSuite(suiteId);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException("url must be an absolute http or https URL");
        var registration = new Registration(suiteId, uri, new CallbackCipher(token, encodingAesKey));

        var check = verify ? await _state.Callbacks.CheckUrlAsync(uri, registration.Cipher, suiteId, ct).ConfigureAwait(false) : null;
        if (check is { Verified: false })
        {
            return (check, null);
        }

        lock (_lock)
        {
            var runtime = Runtime(suiteId);
            runtime.Callback = registration;
            runtime.Timer?.Dispose();
            runtime.Timer = null;
            int interval = _state.Options.SuiteTicketIntervalSeconds;
            if (interval > 0 && !_stopped)
            {
                var period = TimeSpan.FromSeconds(interval);
                runtime.Timer = _state.Time.CreateTimer(OnTicketTimer, suiteId, period, period);
            }
        }

        var first = await PushTicketAsync(suiteId, ct).ConfigureAwait(false);
        return (check, first);
    }

    /// <summary>get_suite_token's checks, in WeCom's order; null when a suite_access_token may be issued.</summary>
    internal WeComError? CheckSuiteCredentials(string suiteId, string? suiteSecret, string? suiteTicket)
    {
        lock (_lock)
        {
            var suite = FindSuite(suiteId);
            if (suite is null) return WeComError.InvalidSuiteId;
            if (string.IsNullOrEmpty(suiteSecret)) return WeComError.SuiteSecretMissing;
            if (!FixedTimeEquals(suite.SuiteSecret, suiteSecret)) return WeComError.InvalidSuiteSecret;
            if (string.IsNullOrEmpty(suiteTicket)) return WeComError.SuiteTicketMissing;

            // Any ticket pushed to this suite within the lifetime, not only the latest: an app may hold an older one.
            var now = _state.Time.GetUtcNow();
            var lifetime = TimeSpan.FromSeconds(_state.Options.SuiteTicketLifetimeSeconds);
            var tickets = _runtime.GetValueOrDefault(suiteId)?.Tickets ?? [];
            return tickets.Exists(t => now < t.PushedAt + lifetime && FixedTimeEquals(t.Ticket, suiteTicket)) ? null : WeComError.InvalidSuiteTicket;
        }
    }

    internal (string Token, int ExpiresIn) IssueSuiteToken(string suiteId)
    {
        int lifetime = _state.Options.SuiteTokenLifetimeSeconds;
        var now = _state.Time.GetUtcNow();
        var token = SimulatorState.NewToken();
        lock (_lock)
        {
            if (_suiteTokens.Count >= PruneSuiteTokensAbove)
            {
                foreach (var (old, _) in _suiteTokens.Where(kv => kv.Value.ExpiresAt + TimeSpan.FromHours(1) < now).ToList())
                {
                    _suiteTokens.Remove(old);
                }
            }

            _suiteTokens[token] = new SuiteToken(suiteId, now.AddSeconds(lifetime));
            RecordSecret(token);
        }

        _state.Counters.RecordSuiteToken(suiteId);
        return (token, lifetime);
    }

    internal TokenCheck CheckSuiteToken(string token, out string? suiteId)
    {
        lock (_lock)
        {
            if (!_suiteTokens.TryGetValue(token, out var issued))
            {
                suiteId = null;
                return TokenCheck.Unknown;
            }

            suiteId = issued.SuiteId;
            return _state.Time.GetUtcNow() >= issued.ExpiresAt ? TokenCheck.Expired : TokenCheck.Valid;
        }
    }

    /// <summary>
    /// Uses up the auth_code: false when it is unknown, another suite's, used, expired or its authorization cancelled.
    /// Creates the corp's permanent code on the first exchange after an authorization, and returns the same one after.
    /// </summary>
    internal bool TryRedeemAuthCode(string suiteId, string authCode, out PermanentGrant grant)
    {
        lock (_lock)
        {
            grant = default;
            if (!_authCodes.TryGetValue(authCode, out var pending) || pending.SuiteId != suiteId)
            {
                return false;
            }

            _authCodes.Remove(authCode);
            if (_state.Time.GetUtcNow() >= pending.ExpiresAt
                || !_authorizations.TryGetValue((suiteId, pending.CorpId), out var authorization))
            {
                return false;
            }

            if (authorization.PermanentCode is null)
            {
                authorization.PermanentCode = SimulatorState.NewToken();
                RecordSecret(authorization.PermanentCode);
            }

            grant = new PermanentGrant(pending.CorpId, authorization.CorpName, authorization.PermanentCode);
            return true;
        }
    }

    /// <summary>Whether <paramref name="permanentCode"/> is the corp's current permanent code of the suite.</summary>
    internal bool CheckPermanentCode(string suiteId, string corpId, string permanentCode)
    {
        lock (_lock)
        {
            return _authorizations.TryGetValue((suiteId, corpId), out var authorization)
                && authorization.PermanentCode is { } current
                && FixedTimeEquals(current, permanentCode);
        }
    }

    /// <summary>Remembers a corp token a suite API issued, for <see cref="IssuedSecrets"/>.</summary>
    internal void RecordCorpToken(string token)
    {
        lock (_lock)
        {
            RecordSecret(token);
        }
    }

    /// <summary>Every suite_access_token issued so far answers 40082 afterwards.</summary>
    internal void RevokeSuiteTokens()
    {
        lock (_lock)
        {
            _suiteTokens.Clear();
        }
    }

    /// <summary>Stops every ticket timer for good (the simulator is stopping); pushes in flight finish on their own.</summary>
    internal void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
            foreach (var runtime in _runtime.Values)
            {
                runtime.Timer?.Dispose();
                runtime.Timer = null;
            }
        }
    }

    private void OnTicketTimer(object? state)
    {
        lock (_lock)
        {
            if (_stopped) return;
        }

        // Fired from the clock's thread (FakeTimeProvider.Advance in tests): the ticket is recorded before this returns,
        // its delivery goes on in the background.
        _ = PushFromTimerAsync((string)state!);
    }

    private async Task PushFromTimerAsync(string suiteId)
    {
        try
        {
            await PushTicketAsync(suiteId).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            // The callback was removed between the tick and the push.
        }
    }

    private async Task<SuiteDelivery> DeliverAsync(Registration registration, string infoType, string? corpId, string message, CancellationToken ct)
    {
        var post = CallbackSender.Seal(registration.Cipher, registration.SuiteId, "", message, CallbackTamper.None,
            _state.Time.GetUtcNow().ToUnixTimeSeconds(), CallbackSender.NewNonce(), agentIdLast: true);
        var sent = await _state.Callbacks.PostSealedAsync(registration.Url, post, ct).ConfigureAwait(false);
        var delivery = new SuiteDelivery(registration.SuiteId, infoType, corpId, sent.Status, sent.Body, sent.ElapsedMs, sent.Error);
        lock (_lock)
        {
            var deliveries = Runtime(registration.SuiteId).Deliveries;
            deliveries.Add(delivery);
            if (deliveries.Count > MaxDeliveriesKept)
            {
                deliveries.RemoveRange(0, deliveries.Count - MaxDeliveriesKept);
            }
        }

        return delivery;
    }

    // The helpers below run under _lock.
    private SimulatedSuite? FindSuite(string suiteId) =>
        _state.Options.Suites.Find(s => string.Equals(s.SuiteId, suiteId, StringComparison.Ordinal));

    private void RequireSuite(string suiteId)
    {
        if (FindSuite(suiteId) is null) throw new KeyNotFoundException($"unknown suite_id {suiteId}");
    }

    private Registration RequireAuthorized(string suiteId, string corpId)
    {
        ArgumentException.ThrowIfNullOrEmpty(corpId);
        RequireSuite(suiteId);
        var registration = Runtime(suiteId).Callback ?? throw NoCallback(suiteId);
        if (!_authorizations.ContainsKey((suiteId, corpId)))
            throw new KeyNotFoundException($"corpid {corpId} has not authorized suite {suiteId}");
        return registration;
    }

    private SuiteRuntime Runtime(string suiteId)
    {
        if (!_runtime.TryGetValue(suiteId, out var runtime))
        {
            _runtime[suiteId] = runtime = new SuiteRuntime();
        }

        return runtime;
    }

    private void RecordSecret(string secret)
    {
        _secrets.Enqueue(secret);
        while (_secrets.Count > MaxSecretsKept)
        {
            _secrets.Dequeue();
        }
    }

    private static KeyNotFoundException NoCallback(string suiteId) => new($"no instruction callback registered for suite {suiteId}");

    private static bool FixedTimeEquals(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));

    private static string Cdata(string text) => CallbackSender.Cdata(text);

    private sealed record PushedTicket(string Ticket, DateTimeOffset PushedAt);

    private sealed record PendingAuthCode(string SuiteId, string CorpId, DateTimeOffset ExpiresAt);

    private sealed record SuiteToken(string SuiteId, DateTimeOffset ExpiresAt);

    private sealed class Authorization(string corpName)
    {
        public string CorpName { get; set; } = corpName;

        public string? PermanentCode { get; set; }
    }

    private sealed class SuiteRuntime
    {
        public Registration? Callback { get; set; }

        public ITimer? Timer { get; set; }

        public List<PushedTicket> Tickets { get; } = [];

        public List<SuiteDelivery> Deliveries { get; } = [];
    }

    // Not a record: its ToString must not print the cipher's token or key (the cipher prints neither either).
    private sealed class Registration(string suiteId, Uri url, CallbackCipher cipher)
    {
        public string SuiteId { get; } = suiteId;

        public Uri Url { get; } = url;

        public CallbackCipher Cipher { get; } = cipher;
    }
}

/// <summary>What get_permanent_code answers besides the corp token.</summary>
internal readonly record struct PermanentGrant(string CorpId, string CorpName, string PermanentCode);
