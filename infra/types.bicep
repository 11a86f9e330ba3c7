// Types shared by main.bicep and the modules.

@export()
@description('The kind of a WeCom app (WeCom__Apps__<name>__Kind): custom, a corp\'s own self-built app (自建应用); agent, an agent-developed app (代开发应用); thirdparty, a service provider\'s suite app (第三方应用).')
type wecomAppKind = 'custom' | 'agent' | 'thirdparty'

// Which properties an app takes depends on whether corps install it through a suite (suiteId):
//   custom, or agent without suiteId: corpId and secretName (for agent, the secret holds the app's permanent code).
//   agent with suiteId, thirdparty (suiteId required): suiteId and suiteSecretName, callbackTokenSecretName and
//     encodingAesKeySecretName (WeCom pushes the suite_ticket and the authorizations to the callback), and no corpId
//     or secretName (each authorizing corp's permanent code, which the app writes to Key Vault, is its credential).
// main.bicep refuses any other combination with fail(), naming the app and the property.
@export()
@description('A WeCom app the deployment harvests for. Each one becomes the app settings WeCom__Apps__<name>__CorpId and __SecretName (an app without suiteId) or __SuiteId and __SuiteSecretName (an app installed through a suite), __AnchorUserIds, __Kind when kind is given, and with callbacks also __CallbackTokenSecretName and __EncodingAesKeySecretName.')
type wecomApp = {
  @description('The app\'s name in harvest requests ({"app": "<name>"}); "default" is used when a request names none. Letters, digits, "-" and "_" only: it is part of app setting names.')
  @minLength(1)
  name: string

  @description('custom (when left out), agent or thirdparty: becomes WeCom__Apps__<name>__Kind, only when given. custom: a corp\'s own app (corpId, secretName). agent: an agent-developed app (代开发), either like custom (corpId, secretName holding the app\'s permanent code) or installed through its template suite (suiteId, suiteSecretName). thirdparty: a service provider\'s suite app (suiteId and suiteSecretName required).')
  kind: wecomAppKind?

  @description('The enterprise\'s corpid (企业ID). Not a secret. Required (may be empty until known) for a custom app and an agent app without suiteId; must be left out (or empty) for an app with suiteId, whose corps are the ones that authorize it.')
  corpId: string?

  @description('The name of the Key Vault secret that holds the app\'s secret (corpsecret; for an agent app without suiteId, its permanent code). Required for a custom app and an agent app without suiteId; must be left out for an app with suiteId. The template never creates or reads the secret: the operator sets it with az keyvault secret set.')
  @minLength(1)
  secretName: string?

  @description('The suite\'s SuiteID: a thirdparty app\'s (required), or the template\'s of an agent app installed through it. Becomes WeCom__Apps__<name>__SuiteId. Only with kind agent or thirdparty, with suiteSecretName and both callback secret names, and without corpId and secretName. The app then WRITES to the vault at run time (the latest suite_ticket, each authorizing corp\'s permanent code), so its identity gets Key Vault Secrets Officer instead of Secrets User. Left out or empty: not installed through a suite.')
  suiteId: string?

  @description('The name of the Key Vault secret that holds the suite\'s SuiteSecret. Becomes WeCom__Apps__<name>__SuiteSecretName. Required with suiteId (and for thirdparty), not allowed without. The template never creates or reads the secret: the operator sets it with az keyvault secret set.')
  suiteSecretName: string?

  @description('The anchors (userids, comma separated) whose lives the nightly harvest looks for; empty for none.')
  anchorUserIds: string

  @description('The name of the Key Vault secret that holds the app\'s callback Token (WeCom admin console: the app\'s 接收消息 / API接收 settings). Becomes WeCom__Apps__<name>__CallbackTokenSecretName. The template never creates or reads the secret: the operator sets it with az keyvault secret set. Give it together with encodingAesKeySecretName, or leave both out (or empty) for an app without callbacks; an app with suiteId needs both.')
  callbackTokenSecretName: string?

  @description('The name of the Key Vault secret that holds the app\'s callback EncodingAESKey (43 characters, same console page as the Token). Becomes WeCom__Apps__<name>__EncodingAesKeySecretName. The template never creates or reads the secret: the operator sets it with az keyvault secret set. Give it together with callbackTokenSecretName, or leave both out (or empty) for an app without callbacks; an app with suiteId needs both.')
  encodingAesKeySecretName: string?
}

@export()
@description('The callback URL of each WeCom app with a callback: app name to https://<host>/api/wecom/callback/<name>.')
type wecomCallbackUrlSet = {
  @description('The app\'s callback URL (the URL to enter in the WeCom admin console under 接收消息 / API接收).')
  *: string
}

@export()
@description('Resource tags: name to value.')
type tagSet = {
  @description('A tag value.')
  *: string
}
