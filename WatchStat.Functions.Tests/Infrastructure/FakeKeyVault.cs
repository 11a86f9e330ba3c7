using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using WatchStat.Secrets;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// A Key Vault look-alike behind the real <see cref="SecretClient"/>: an HTTP handler that answers the Secrets REST
/// API like the service (<c>GET</c> and <c>PUT /secrets/{name}</c>, <c>DELETE</c> into a soft-deleted state whose name
/// stays taken (409) until <c>POST /deletedsecrets/{name}/recover</c>), including the bearer challenge the client's
/// authentication policy starts with, and scripted failures (403, 404, 429). No network and no Azure AD: the
/// credential is a fake.
/// </summary>
public sealed class FakeKeyVault : HttpMessageHandler
{
    public static readonly Uri VaultUri = new("https://watchstat-test.vault.azure.net/");
    private const string BearerToken = "fake-kv-bearer-token";

    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _reads = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _writes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, string> _deleted = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Queue<HttpStatusCode>> _failures = new(StringComparer.OrdinalIgnoreCase);
    private int _requests;

    public void Set(string name, string value) => _secrets[name] = value;

    /// <summary>Removes a secret for good (deleted and purged), as if it had never been set.</summary>
    public void Purge(string name)
    {
        _secrets.TryRemove(name, out _);
        _deleted.TryRemove(name, out _);
    }

    /// <summary>The secret's current value, or null when there is none (never set, or deleted).</summary>
    public string? Get(string name) => _secrets.TryGetValue(name, out var value) ? value : null;

    /// <summary>Whether the secret was deleted and is in the soft-deleted state.</summary>
    public bool IsDeleted(string name) => _deleted.ContainsKey(name);

    /// <summary>Successful writes (PUT) of a secret.</summary>
    public int Writes(string name) => _writes.GetValueOrDefault(name);

    /// <summary>Every secret name and value the vault holds, deleted ones included.</summary>
    public IReadOnlyCollection<KeyValuePair<string, string>> All => [.. _secrets, .. _deleted];

    /// <summary>Successful reads of a secret's value.</summary>
    public int Reads(string name) => _reads.GetValueOrDefault(name);

    public int TotalReads => _reads.Values.Sum();

    /// <summary>Every request that reached the vault, challenges and failures included.</summary>
    public int Requests => _requests;

    /// <summary>The next reads of <paramref name="name"/> answer these statuses, in order.</summary>
    public void FailNext(string name, params HttpStatusCode[] statuses)
    {
        var queue = _failures.GetOrAdd(name, _ => new Queue<HttpStatusCode>());
        lock (queue) foreach (var status in statuses) queue.Enqueue(status);
    }

    /// <summary>Reads of <paramref name="name"/> still to fail as scripted.</summary>
    public int PendingFailures(string name) => _failures.TryGetValue(name, out var queue) ? queue.Count : 0;

    /// <summary>
    /// The real client, as the app builds it (retry mode and count included), over this fake vault; only the backoff
    /// delays are shortened so a test of six throttled reads takes milliseconds, not half a minute.
    /// </summary>
    public SecretClient CreateClient()
    {
        var options = SecretsServiceCollectionExtensions.CreateClientOptions(new SecretClientOptions { Transport = new HttpClientTransport(this) });
        options.Retry.Delay = TimeSpan.FromMilliseconds(5);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(20);
        return new SecretClient(VaultUri, new FakeCredential(), options);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        if (request.Headers.Authorization is not { Scheme: "Bearer", Parameter: BearerToken })
        {
            var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = Json(new { error = new { code = "Unauthorized", message = "AKV10000: Request is missing a Bearer or PoP token." } }) };
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate",
                "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"");
            return Task.FromResult(challenge);
        }

        var segments = request.RequestUri!.AbsolutePath.Trim('/').Split('/');
        if (segments.Length >= 3 && segments[0] == "deletedsecrets" && segments[2] == "recover" && request.Method == HttpMethod.Post)
        {
            if (!_deleted.TryRemove(segments[1], out var recovered)) return Task.FromResult(Failure(HttpStatusCode.NotFound, segments[1]));
            _secrets[segments[1]] = recovered;
            return Task.FromResult(Bundle(segments[1], recovered));
        }
        if (segments.Length < 2 || segments[0] != "secrets")
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = Json(new { error = new { code = "BadParameter", message = "Unsupported by the fake." } }) });
        var name = segments[1];
        if (request.Method == HttpMethod.Put) return PutAsync(request, name, cancellationToken);
        if (request.Method == HttpMethod.Delete)
        {
            if (!_secrets.TryRemove(name, out var deleted)) return Task.FromResult(Failure(HttpStatusCode.NotFound, name));
            _deleted[name] = deleted;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = Json(new
                {
                    recoveryId = $"{VaultUri}deletedsecrets/{name}",
                    deletedDate = 1764115200,
                    scheduledPurgeDate = 1771891200,
                    id = $"{VaultUri}secrets/{name}/0123456789abcdef0123456789abcdef",
                    attributes = new { enabled = true, created = 1764115200, updated = 1764115200, recoveryLevel = "Recoverable+Purgeable" },
                }),
            });
        }
        if (request.Method != HttpMethod.Get)
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = Json(new { error = new { code = "BadParameter", message = "Unsupported by the fake." } }) });

        if (_failures.TryGetValue(name, out var failures))
        {
            HttpStatusCode? status = null;
            lock (failures) if (failures.Count > 0) status = failures.Dequeue();
            if (status is { } failure) return Task.FromResult(Failure(failure, name));
        }
        if (!_secrets.TryGetValue(name, out var value)) return Task.FromResult(Failure(HttpStatusCode.NotFound, name));

        _reads.AddOrUpdate(name, 1, (_, n) => n + 1);
        return Task.FromResult(Bundle(name, value));
    }

    private async Task<HttpResponseMessage> PutAsync(HttpRequestMessage request, string name, CancellationToken cancellationToken)
    {
        if (_deleted.ContainsKey(name))
        {
            return new HttpResponseMessage(HttpStatusCode.Conflict)
            {
                Content = Json(new { error = new { code = "Conflict", message = $"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged." } }),
            };
        }
        using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
        var value = body.RootElement.GetProperty("value").GetString() ?? "";
        _secrets[name] = value;
        _writes.AddOrUpdate(name, 1, (_, n) => n + 1);
        return Bundle(name, value);
    }

    private static HttpResponseMessage Bundle(string name, string value) => new(HttpStatusCode.OK)
    {
        Content = Json(new
        {
            value,
            id = $"{VaultUri}secrets/{name}/0123456789abcdef0123456789abcdef",
            attributes = new { enabled = true, created = 1764115200, updated = 1764115200, recoveryLevel = "Recoverable" },
            tags = new { },
        }),
    };

    private static HttpResponseMessage Failure(HttpStatusCode status, string name)
    {
        var (code, message) = status switch
        {
            HttpStatusCode.Forbidden => ("Forbidden", "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"),
            HttpStatusCode.NotFound => ("SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault."),
            HttpStatusCode.TooManyRequests => ("Throttled", "Request was not processed because too many requests were received."),
            _ => ("InternalServerError", "Fake failure."),
        };
        var response = new HttpResponseMessage(status) { Content = Json(new { error = new { code, message } }) };
        return response;
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Stands in for Azure AD: hands out the one token the fake vault accepts.</summary>
    private sealed class FakeCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(BearerToken, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
