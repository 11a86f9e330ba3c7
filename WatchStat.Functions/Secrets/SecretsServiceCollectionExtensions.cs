using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace WatchStat.Secrets;

public static partial class SecretsServiceCollectionExtensions
{
    /// <summary>
    /// The apps' secret source: Key Vault when <c>KeyVault:Uri</c> is set (one <see cref="SecretClient"/>, with
    /// <see cref="DefaultAzureCredential"/>: the managed identity named by <c>AZURE_CLIENT_ID</c> in Azure), else configuration.
    /// </summary>
    public static IServiceCollection AddWeComSecrets(this IServiceCollection services)
    {
        services.AddOptions<KeyVaultOptions>().BindConfiguration(KeyVaultOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(sp =>
        {
            var uri = sp.GetRequiredService<IOptions<KeyVaultOptions>>().Value.VaultUri
                ?? throw new InvalidOperationException("KeyVault:Uri is not set.");
            return new SecretClient(uri, new DefaultAzureCredential(), CreateClientOptions());
        });
        services.TryAddSingleton<IWeComSecretSource>(sp => sp.GetRequiredService<IOptions<KeyVaultOptions>>().Value.VaultUri is null
            ? ActivatorUtilities.CreateInstance<ConfigurationSecretSource>(sp)
            : ActivatorUtilities.CreateInstance<KeyVaultSecretSource>(sp));
        services.AddHostedService<SecretSourceAnnouncement>();
        return services;
    }

    /// <summary>Key Vault answers 429 when throttled: back off exponentially (honouring Retry-After) before giving up.</summary>
    public static SecretClientOptions CreateClientOptions(SecretClientOptions? options = null)
    {
        options ??= new SecretClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 5;
        options.Retry.Delay = TimeSpan.FromSeconds(1);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(30);
        return options;
    }

    /// <summary>Says once, at start, where the secrets come from.</summary>
    private sealed partial class SecretSourceAnnouncement(IOptions<KeyVaultOptions> options, ILogger<SecretSourceAnnouncement> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.VaultUri is { } vault) LogKeyVault(vault);
            else LogConfiguration();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "WeCom secrets are read from Key Vault {Vault}")]
        private partial void LogKeyVault(Uri vault);

        [LoggerMessage(Level = LogLevel.Information,
            Message = "WeCom secrets are read from local configuration (KeyVault:Uri is not set): fine for local development, not for production")]
        private partial void LogConfiguration();
    }
}
